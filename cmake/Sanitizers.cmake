# WEFT_SANITIZE selects one sanitizer build; each value maps to exactly these flags:
#
#   ""                   plain build
#   "thread"             -fsanitize=thread
#   "address,undefined"  -fsanitize=address,undefined -fno-sanitize-recover=undefined
#
# Any sanitizer build also gets -fno-omit-frame-pointer and the compile definition
# WEFT_SANITIZER_BUILD=1, which tests read to shrink their sizes.
#
# The flags go on every target of the build (libraries, tests, samples): a sanitizer wants the
# whole program instrumented. WEFT_SANITIZER_FLAGS is kept for code that builds outside this
# tree against it (tests/install).

set(WEFT_SANITIZE "" CACHE STRING "Sanitizer build: empty, thread, or address,undefined")
set_property(CACHE WEFT_SANITIZE PROPERTY STRINGS "" "thread" "address,undefined")

set(WEFT_SANITIZER_FLAGS "")
if(WEFT_SANITIZE STREQUAL "thread")
    set(WEFT_SANITIZER_FLAGS -fsanitize=thread)
elseif(WEFT_SANITIZE STREQUAL "address,undefined")
    set(WEFT_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined)
elseif(NOT WEFT_SANITIZE STREQUAL "")
    message(FATAL_ERROR
        "WEFT_SANITIZE='${WEFT_SANITIZE}': expected empty, 'thread' or 'address,undefined'")
endif()

if(WEFT_SANITIZER_FLAGS)
    list(APPEND WEFT_SANITIZER_FLAGS -fno-omit-frame-pointer)
    add_compile_options(${WEFT_SANITIZER_FLAGS})
    add_link_options(${WEFT_SANITIZER_FLAGS})
    add_compile_definitions(WEFT_SANITIZER_BUILD=1)
    message(STATUS "weft: sanitizer build (${WEFT_SANITIZE})")
endif()
