// co_await weft::sleep(d) / sleep_until(t) (asyncio.sleep), and weft::now().
//
//   co_await weft::sleep(100ms);                       // resumes on a worker loop after 100 ms
//   co_await weft::sleep_until(weft::now() + 1s);
//   co_await weft::sleep(0ms);                         // just yields, like asyncio.sleep(0)
//
// The timer lives on the current worker's timing wheel (1 ms resolution, never early).
// A cancellation point: cancel() or a timeout() scope ends the sleep with an exception.
#pragma once

#include <chrono>
#include <coroutine>

#include <weft/detail/deadline_after.hpp>
#include <weft/detail/timer.hpp>

namespace weft {

using Clock = std::chrono::steady_clock;

/// The runtime's current time (virtual under RuntimeOptions::virtual_time); outside a
/// runtime, steady_clock::now().
inline Clock::time_point now() noexcept { return detail::runtime_now(); }

namespace detail {
void sleep_suspend(Clock::time_point deadline, TimerEntry*& entry, std::coroutine_handle<> awaiting);
void sleep_resume(TimerEntry* entry);
}  // namespace detail

class [[nodiscard("co_await it")]] SleepAwaiter {
public:
    explicit SleepAwaiter(Clock::time_point deadline) noexcept : deadline_(deadline) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> awaiting) { detail::sleep_suspend(deadline_, entry_, awaiting); }
    void await_resume() const { detail::sleep_resume(entry_); }

private:
    Clock::time_point deadline_;
    detail::TimerEntry* entry_ = nullptr;
};

inline SleepAwaiter sleep_until(Clock::time_point deadline) noexcept { return SleepAwaiter(deadline); }

template <class Rep, class Period>
SleepAwaiter sleep(std::chrono::duration<Rep, Period> duration) {
    return SleepAwaiter(detail::deadline_after(now(), duration));  // (saturates: see there)
}

}  // namespace weft
