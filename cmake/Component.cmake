# weft_add_component(<name>
#     [PARTS <folder>...]             the component's parts (default: the component's folder)
#     [DEPENDS <target>...]           linked PUBLIC (part of the component's interface)
#     [PRIVATE_DEPENDS <target>...]   linked PRIVATE
#     [PRIVATE_INCLUDES <dir>...])    include dirs used only by the component's sources
#
# Called from <name>/CMakeLists.txt. A part is a folder holding include/ (public headers,
# <weft/...>) and src/ (sources and private headers); PARTS are relative to the calling folder
# (or absolute). Defines the library weft_<name> (ALIAS weft::<name>, exported as
# weft::<name>) from every part's src/*.cpp, applies weft's warnings, and registers it for the
# umbrella target weft::weft and for install. A component with no .cpp yet is an INTERFACE
# (header-only) library. The parts of one component may use each other's private headers.
#
# It also defines weft_<name>_internals (ALIAS weft::<name>_internals, never installed): the
# component plus its src/ headers and private dependencies, for white-box tests that include a
# private header such as "timer_wheel.hpp".
#
# Adding weft::sync is sync/CMakeLists.txt holding:
#     weft_add_component(sync DEPENDS weft::scheduler)

function(weft_add_component name)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "PARTS;DEPENDS;PRIVATE_DEPENDS;PRIVATE_INCLUDES")
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "weft_add_component(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT arg_PARTS)
        set(arg_PARTS .)
    endif()

    set(target weft_${name})
    set(include_dirs "")
    set(src_dirs "")
    set(sources "")
    foreach(part IN LISTS arg_PARTS)
        cmake_path(ABSOLUTE_PATH part BASE_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" NORMALIZE OUTPUT_VARIABLE part_dir)
        if(NOT IS_DIRECTORY "${part_dir}")
            message(FATAL_ERROR "weft_add_component(${name}): no folder ${part_dir}")
        endif()
        if(IS_DIRECTORY "${part_dir}/include")
            list(APPEND include_dirs "${part_dir}/include")
        endif()
        if(IS_DIRECTORY "${part_dir}/src")
            list(APPEND src_dirs "${part_dir}/src")
            file(GLOB part_sources CONFIGURE_DEPENDS "${part_dir}/src/*.cpp")
            list(APPEND sources ${part_sources})
        endif()
    endforeach()
    set(build_includes "")
    foreach(dir IN LISTS include_dirs)
        list(APPEND build_includes "$<BUILD_INTERFACE:${dir}>")
    endforeach()

    if(sources)
        add_library(${target} STATIC ${sources})
        target_include_directories(${target} PUBLIC
            ${build_includes}
            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
        # src/ also holds the parts' private headers.
        target_include_directories(${target} PRIVATE ${src_dirs})
        target_include_directories(${target} SYSTEM PRIVATE ${arg_PRIVATE_INCLUDES})
        target_link_libraries(${target}
            PUBLIC ${arg_DEPENDS}
            PRIVATE ${arg_PRIVATE_DEPENDS})
        # Coroutines need C++20 in every consumer too, whatever standard its project sets.
        target_compile_features(${target} PUBLIC cxx_std_20)
        target_compile_definitions(${target} PUBLIC ${WEFT_CONFIG_DEFINITIONS})  # cmake/BuildConfig.cmake
        weft_target_warnings(${target})
    else()
        add_library(${target} INTERFACE)
        target_include_directories(${target} INTERFACE
            ${build_includes}
            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
        target_link_libraries(${target} INTERFACE ${arg_DEPENDS})
        target_compile_features(${target} INTERFACE cxx_std_20)
        target_compile_definitions(${target} INTERFACE ${WEFT_CONFIG_DEFINITIONS})
    endif()
    add_library(weft::${name} ALIAS ${target})
    set_target_properties(${target} PROPERTIES
        EXPORT_NAME ${name}
        OUTPUT_NAME weft_${name})

    add_library(${target}_internals INTERFACE)
    add_library(weft::${name}_internals ALIAS ${target}_internals)
    target_include_directories(${target}_internals INTERFACE ${src_dirs})
    target_include_directories(${target}_internals SYSTEM INTERFACE ${arg_PRIVATE_INCLUDES})
    target_link_libraries(${target}_internals INTERFACE ${target} ${arg_PRIVATE_DEPENDS})

    foreach(dir IN LISTS include_dirs)
        install(DIRECTORY "${dir}/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
    endforeach()
    install(TARGETS ${target} EXPORT weftTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

    set_property(GLOBAL APPEND PROPERTY WEFT_COMPONENTS ${target})
    set_property(GLOBAL APPEND PROPERTY WEFT_COMPONENT_INTERNALS ${target}_internals)
endfunction()
