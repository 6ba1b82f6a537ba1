# Build options that change the library's code, each mapped 1:1 to a compile definition that
# weft/detail/build_config.hpp reads:
#
#   WEFT_CHECK=ON   ->  WEFT_CHECK=1   internal assertions (WEFT_ASSERT) on, fixed capacities
#                                      shrunk (the local run queue, the frame pools): the
#                                      `check` preset CI runs
#   WEFT_HOOKS=ON   ->  WEFT_HOOKS=1   the observability hooks compiled in (weft/ext/task_hooks.hpp:
#                                      TaskHooks, per-worker counters); off, they cost nothing
#
# The definitions are PUBLIC on every component (weft_add_component), so they reach whatever
# links weft in this tree and, through the exported targets, after install: a consumer's
# view of inline sizes always matches the library's.

option(WEFT_CHECK "Check build: internal assertions on, queue and cache capacities shrunk" OFF)
option(WEFT_HOOKS "Compile in the observability hooks (weft/ext/task_hooks.hpp)" OFF)

set(WEFT_CONFIG_DEFINITIONS "")
if(WEFT_CHECK)
    list(APPEND WEFT_CONFIG_DEFINITIONS WEFT_CHECK=1)
    message(STATUS "weft: check build (assertions on, small capacities)")
endif()
if(WEFT_HOOKS)
    list(APPEND WEFT_CONFIG_DEFINITIONS WEFT_HOOKS=1)
    message(STATUS "weft: observability hooks compiled in")
endif()
