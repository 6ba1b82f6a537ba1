// The runtime side of sleeps and timeout scopes (implemented in scheduler/time/src/timers.cpp).
#pragma once

#include <chrono>
#include <cstddef>

#include <weft/detail/task_header.hpp>

namespace weft::detail {

struct TimerEntry;
using Clock = std::chrono::steady_clock;

// Arms a timer on the current worker. kind_timeout: deliver TimeoutError to the task.
TimerEntry* arm_timer(Waker waker, Clock::time_point deadline, bool kind_timeout);

// Settles a timer from the task's side. True: it fired (and is freed); false: it was
// cancelled here before firing (the wheel frees it).
bool settle_timer(TimerEntry* entry) noexcept;

// Whether the wheel has fired it (a peek; the entry stays the caller's to settle).
bool timer_fired(const TimerEntry* entry) noexcept;

Clock::time_point runtime_now() noexcept;

// A probe for tests and benchmarks: the timer entries linked in the wheels of the current
// runtime (0 outside one). Each worker publishes its count after every change it makes.
std::size_t armed_timer_entries() noexcept;

}  // namespace weft::detail
