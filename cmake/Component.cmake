# weft_add_component(<name>
#     [DEPENDS <target>...]           linked PUBLIC (part of the component's interface)
#     [PRIVATE_DEPENDS <target>...]   linked PRIVATE
#     [PRIVATE_INCLUDES <dir>...])    include dirs used only by the component's sources
#
# Called from <name>/CMakeLists.txt. Defines the library weft_<name> (ALIAS weft::<name>,
# exported as weft::<name>) from <name>/src/*.cpp with the public headers in <name>/include,
# applies weft's warnings, and registers it for the umbrella target weft::weft and for install.
# A component with no .cpp yet is an INTERFACE (header-only) library.
#
# It also defines weft_<name>_internals (ALIAS weft::<name>_internals, never installed): the
# component plus its src/ headers and private dependencies, for white-box tests that include a
# private header such as "timer_wheel.hpp".
#
# Adding weft::sync is sync/CMakeLists.txt holding:
#     weft_add_component(sync DEPENDS weft::scheduler)

function(weft_add_component name)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DEPENDS;PRIVATE_DEPENDS;PRIVATE_INCLUDES")
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "weft_add_component(${name}): unknown arguments ${arg_UNPARSED_ARGUMENTS}")
    endif()

    set(target weft_${name})
    set(include_dir "${CMAKE_CURRENT_SOURCE_DIR}/include")
    file(GLOB sources CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/src/*.cpp")

    if(sources)
        add_library(${target} STATIC ${sources})
        target_include_directories(${target} PUBLIC
            $<BUILD_INTERFACE:${include_dir}>
            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
        # src/ also holds the component's private headers.
        target_include_directories(${target} PRIVATE "${CMAKE_CURRENT_SOURCE_DIR}/src")
        target_include_directories(${target} SYSTEM PRIVATE ${arg_PRIVATE_INCLUDES})
        target_link_libraries(${target}
            PUBLIC ${arg_DEPENDS}
            PRIVATE ${arg_PRIVATE_DEPENDS})
        # Coroutines need C++20 in every consumer too, whatever standard its project sets.
        target_compile_features(${target} PUBLIC cxx_std_20)
        weft_target_warnings(${target})
    else()
        add_library(${target} INTERFACE)
        target_include_directories(${target} INTERFACE
            $<BUILD_INTERFACE:${include_dir}>
            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
        target_link_libraries(${target} INTERFACE ${arg_DEPENDS})
        target_compile_features(${target} INTERFACE cxx_std_20)
    endif()
    add_library(weft::${name} ALIAS ${target})
    set_target_properties(${target} PROPERTIES
        EXPORT_NAME ${name}
        OUTPUT_NAME weft_${name})

    add_library(${target}_internals INTERFACE)
    add_library(weft::${name}_internals ALIAS ${target}_internals)
    target_include_directories(${target}_internals INTERFACE "${CMAKE_CURRENT_SOURCE_DIR}/src")
    target_include_directories(${target}_internals SYSTEM INTERFACE ${arg_PRIVATE_INCLUDES})
    target_link_libraries(${target}_internals INTERFACE ${target} ${arg_PRIVATE_DEPENDS})

    if(EXISTS "${include_dir}")
        install(DIRECTORY "${include_dir}/" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
    endif()
    install(TARGETS ${target} EXPORT weftTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})

    set_property(GLOBAL APPEND PROPERTY WEFT_COMPONENTS ${target})
    set_property(GLOBAL APPEND PROPERTY WEFT_COMPONENT_INTERNALS ${target}_internals)
endfunction()
