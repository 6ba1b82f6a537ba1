# `cmake --install` lays out: include/weft/..., lib/libweft_<component>.a and
# lib/cmake/weft/{weftConfig,weftConfigVersion,weftTargets}.cmake, so that an outside project
# can `find_package(weft)` and link `weft::weft` (or one component, e.g. `weft::scheduler`).
# Components install their own headers and archives (cmake/Component.cmake).

include(CMakePackageConfigHelpers)

set(WEFT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/weft")

install(FILES "${PROJECT_SOURCE_DIR}/include/weft/weft.hpp"
    DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}/weft")
install(TARGETS weft_weft EXPORT weftTargets)
install(EXPORT weftTargets
    NAMESPACE weft::
    DESTINATION "${WEFT_INSTALL_CMAKEDIR}")

configure_package_config_file(
    "${PROJECT_SOURCE_DIR}/cmake/weftConfig.cmake.in"
    "${PROJECT_BINARY_DIR}/weftConfig.cmake"
    INSTALL_DESTINATION "${WEFT_INSTALL_CMAKEDIR}")
# 0.x: a minor release may break the API.
write_basic_package_version_file(
    "${PROJECT_BINARY_DIR}/weftConfigVersion.cmake"
    COMPATIBILITY SameMinorVersion)
install(FILES
    "${PROJECT_BINARY_DIR}/weftConfig.cmake"
    "${PROJECT_BINARY_DIR}/weftConfigVersion.cmake"
    DESTINATION "${WEFT_INSTALL_CMAKEDIR}")
