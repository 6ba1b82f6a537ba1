# Warnings for weft's own targets only: third-party headers come in as system includes and
# the flags are attached per target (weft_target_warnings), never through CMAKE_CXX_FLAGS.

option(WEFT_WERROR "Treat compiler warnings in weft's own targets as errors" OFF)

# -Werror=return-type always: a Task<> function whose body has no co_await/co_return is a plain
# function returning nothing (undefined behaviour when called), and a value-returning function
# that falls off its end is the same bug; neither should ever build.
set(WEFT_WARNING_FLAGS -Wall -Wextra -Wpedantic -Werror=return-type)

function(weft_target_warnings target)
    target_compile_options(${target} PRIVATE
        ${WEFT_WARNING_FLAGS}
        $<$<BOOL:${WEFT_WERROR}>:-Werror>)
endfunction()
