// Deadlines (asyncio.timeout / asyncio.wait_for).
//
//   {
//       auto deadline = weft::timeout(2s);   // binds to the current task
//       co_await connect();
//       co_await handshake();                // TimeoutError is thrown from whichever
//       deadline.reschedule(weft::now() + 5s);  //   await is pending at the deadline
//   }                                        // leaving the scope disarms it
//
//   int v = co_await weft::wait_for(compute(), 500ms);   // TimeoutError, inner cancelled
//
// Semantics: at the deadline the task is cancelled the way cancel() does it, except that
// the exception raised at the pending await is weft::TimeoutError, so it leaves the scope
// as TimeoutError (asyncio raises CancelledError inside and converts it at the exit).
// A task awaiting a JoinHandle passes the cancellation on to that child, so wait_for()
// on a handle cancels the inner task. If the deadline passes while no await is pending
// and the scope ends first, nothing is thrown.
#pragma once

#include <chrono>
#include <utility>

#include <weft/detail/timer.hpp>
#include <weft/join_handle.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>

namespace weft {

class [[nodiscard("a timeout scope lasts as long as this object")]] TimeoutScope {
public:
    explicit TimeoutScope(Clock::time_point deadline);
    ~TimeoutScope();
    TimeoutScope(const TimeoutScope&) = delete;
    TimeoutScope& operator=(const TimeoutScope&) = delete;

    /// Moves the deadline (asyncio Timeout.reschedule). UsageError once it has expired.
    void reschedule(Clock::time_point deadline);
    Clock::time_point when() const noexcept { return deadline_; }
    /// True once the deadline was reached while the scope was active.
    bool expired() const noexcept;

private:
    void arm();
    bool settle() noexcept;  // true if the entry had fired

    detail::TaskHeader* task_;
    Clock::time_point deadline_;
    detail::TimerEntry* entry_ = nullptr;
    mutable bool expired_ = false;
};

inline TimeoutScope timeout_at(Clock::time_point deadline) { return TimeoutScope(deadline); }

template <class Rep, class Period>
TimeoutScope timeout(std::chrono::duration<Rep, Period> duration) {
    return TimeoutScope(now() + std::chrono::duration_cast<Clock::duration>(duration));
}

template <class T, class Rep, class Period>
Task<T> wait_for(Task<T> task, std::chrono::duration<Rep, Period> duration) {
    auto deadline = timeout(duration);
    co_return co_await std::move(task);
}

template <class T, class Rep, class Period>
Task<T> wait_for(JoinHandle<T> handle, std::chrono::duration<Rep, Period> duration) {
    auto deadline = timeout(duration);
    co_return co_await handle;
}

}  // namespace weft
