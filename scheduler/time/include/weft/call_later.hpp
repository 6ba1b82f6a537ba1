// Callbacks at a time (asyncio loop.call_later / call_at).
//
//   auto timer = weft::call_later(5s, [] { spdlog::warn("still waiting"); });
//   ...
//   timer.cancel();   // false if it already ran, or runs
//
// The callback runs on a worker loop inside a small task of its own; an exception it
// throws is logged. Call from a weft task (use Runtime::spawn with sleep() elsewhere).
#pragma once

#include <functional>
#include <memory>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/deadline_after.hpp>
#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>

namespace weft {

namespace detail {
// Who got to a timer first: its callback (pending -> running) or cancel() (pending -> cancelled).
struct TimerState {
    static constexpr unsigned char kPending = 0, kRunning = 1, kCancelled = 2;
    Atomic<unsigned char> state{kPending};
};
}  // namespace detail

class [[nodiscard("keep the handle to cancel the timer, or call detach()")]] TimerHandle {
public:
    TimerHandle(JoinHandle<void> task, std::shared_ptr<detail::TimerState> state) noexcept
        : task_(std::move(task)), state_(std::move(state)) {}
    /// Cancels the callback if it has not started: true once, then it never runs. False when it
    /// already ran, is running (so `if (timer.cancel()) do_it_myself();` never does it twice),
    /// or was cancelled before. From any thread.
    bool cancel() {
        unsigned char expected = detail::TimerState::kPending;
        if (!state_ || !state_->state.compare_exchange_strong(expected, detail::TimerState::kCancelled,
                                                              detail::memory_order_acq_rel))
            return false;
        if (task_.valid()) task_.cancel();  // (frees its timer now rather than at the deadline)
        return true;
    }
    bool done() const { return task_.is_done(); }
    void detach() noexcept { task_.detach(); }

private:
    JoinHandle<void> task_;
    std::shared_ptr<detail::TimerState> state_;
};

namespace detail {
inline Task<void> run_at(Clock::time_point when, std::function<void()> callback, std::shared_ptr<TimerState> state) {
    co_await sleep_until(when);
    unsigned char expected = TimerState::kPending;
    if (!state->state.compare_exchange_strong(expected, TimerState::kRunning, memory_order_acq_rel))
        co_return;  // cancel() came first
    callback();
}
}  // namespace detail

/// An empty callback is a UsageError (as call_soon's).
inline TimerHandle call_at(Clock::time_point when, std::function<void()> callback) {
    if (!callback) throw UsageError("weft::call_at / call_later: the callback is empty");
    auto state = std::make_shared<detail::TimerState>();
    return TimerHandle(spawn(detail::run_at(when, std::move(callback), state), "call_at"), state);
}

template <class Rep, class Period>
TimerHandle call_later(std::chrono::duration<Rep, Period> delay, std::function<void()> callback) {
    return call_at(detail::deadline_after(now(), delay), std::move(callback));
}

}  // namespace weft
