# Run by the ctest test install_consumer (see tests/CMakeLists.txt):
#   1. install the weft build in WEFT_BINARY_DIR into WORK_DIR/prefix,
#   2. check that the installed archives run on any x86-64 CPU (no instruction beyond the
#      baseline: the benchmark preset's -march=native must never reach an installed library),
#   3. configure CONSUMER_SOURCE_DIR against that prefix only (find_package(weft)); it sets no
#      C++ standard, so weft::weft must carry cxx_std_20 itself,
#   4. build it with the same compiler and flags, 5. run it: it exits 0 on success.
foreach(var WEFT_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR GENERATOR CXX_COMPILER)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "install_consumer.cmake: -D ${var}=... is required")
    endif()
endforeach()
if(NOT BUILD_TYPE)
    set(BUILD_TYPE Release)
endif()

set(prefix "${WORK_DIR}/prefix")
set(build "${WORK_DIR}/build")
file(REMOVE_RECURSE "${WORK_DIR}")

execute_process(
    COMMAND "${CMAKE_COMMAND}" --install "${WEFT_BINARY_DIR}" --prefix "${prefix}"
    COMMAND_ERROR_IS_FATAL ANY)

# Step 2. Baseline x86-64 has SSE2 and nothing newer: a VEX/EVEX-encoded instruction (objdump
# names them v...), a ymm/zmm/mask register, or a BMI/POPCNT instruction means the archive was
# compiled for a newer CPU and would die with SIGILL on an older one.
cmake_host_system_information(RESULT host_platform QUERY OS_PLATFORM)  # (-P mode sets no CMAKE_HOST_*)
if(host_platform MATCHES "x86_64|AMD64")
    find_program(OBJDUMP objdump REQUIRED)
    file(GLOB_RECURSE archives "${prefix}/*.a")
    if(NOT archives)
        message(FATAL_ERROR "install_consumer: no archive installed under ${prefix}")
    endif()
    foreach(archive IN LISTS archives)
        execute_process(COMMAND "${OBJDUMP}" -d --no-show-raw-insn "${archive}"
            OUTPUT_VARIABLE listing COMMAND_ERROR_IS_FATAL ANY)
        string(REGEX MATCH
            "\t(v[a-z0-9]+|shlx|shrx|sarx|rorx|andn|bzhi|bextr|pdep|pext|mulx|popcnt|lzcnt|movbe)[ \t][^\n]*|%[yz]mm[0-9]+|%k[1-7]"
            beyond_baseline "${listing}")
        if(beyond_baseline)
            message(FATAL_ERROR "install_consumer: ${archive} uses an instruction beyond baseline "
                "x86-64 ('${beyond_baseline}'): was it built with -march=native?")
        endif()
    endforeach()
endif()

set(configure_args
    -S "${CONSUMER_SOURCE_DIR}" -B "${build}" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
    "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
    "-DCMAKE_PREFIX_PATH=${prefix}"
    "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
    "-DCMAKE_EXE_LINKER_FLAGS=${CXX_FLAGS}")
if(MAKE_PROGRAM)
    list(APPEND configure_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
execute_process(COMMAND "${CMAKE_COMMAND}" ${configure_args} COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${build}" COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${build}/weft_consumer" COMMAND_ERROR_IS_FATAL ANY)
message(STATUS "install_consumer: find_package(weft) from ${prefix} builds and runs")
