// What the build was configured with (cmake/BuildConfig.cmake maps each option to one define).
//
//   inline constexpr std::size_t kRingSlots = WEFT_CHECK_OR(8, 1024);  // tiny in the check build
//   WEFT_ASSERT(task->state() != kComplete);  // checked in check and debug builds only
//
// WEFT_CHECK (the `check` preset): internal assertions on and fixed capacities shrunk, so
// the paths taken when a queue or a cache is full (overflow to the injection queue, a
// frame too big for the pools, a new slab) run all the time instead of under rare load.
// The define is part of the installed targets' interface: a library built with it and code
// including its headers always agree on these sizes.
#pragma once

#ifdef WEFT_CHECK
#define WEFT_CHECK_OR(check_value, normal_value) (check_value)
#else
#define WEFT_CHECK_OR(check_value, normal_value) (normal_value)
#endif

// WEFT_ASSERT(cond): an internal invariant. Active in the check build and in debug builds
// (no NDEBUG); otherwise compiled out (the condition is not evaluated, only type-checked).
// A failure logs the condition and where it is, then aborts: a broken invariant of the
// runtime is a bug in weft, never something a caller can recover from.
#if defined(WEFT_CHECK) || !defined(NDEBUG)
#define WEFT_ASSERT_ENABLED 1
#define WEFT_ASSERT(cond) \
    (static_cast<bool>(cond) ? void(0) : ::weft::detail::assertion_failed(#cond, __FILE__, __LINE__))
#else
#define WEFT_ASSERT_ENABLED 0
#define WEFT_ASSERT(cond) void(sizeof(static_cast<bool>(cond)))
#endif

namespace weft::detail {

[[noreturn]] void assertion_failed(const char* condition, const char* file, int line) noexcept;

}  // namespace weft::detail
