// Callbacks at a time (asyncio loop.call_later / call_at).
//
//   auto timer = weft::call_later(5s, [] { spdlog::warn("still waiting"); });
//   ...
//   timer.cancel();   // false if it already ran
//
// The callback runs on a worker loop inside a small task of its own; an exception it
// throws is logged. Call from a weft task (use Runtime::spawn with sleep() elsewhere).
#pragma once

#include <functional>
#include <utility>

#include <weft/detail/deadline_after.hpp>
#include <weft/join_handle.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>

namespace weft {

class [[nodiscard("keep the handle to cancel the timer, or call detach()")]] TimerHandle {
public:
    explicit TimerHandle(JoinHandle<void> task) noexcept : task_(std::move(task)) {}
    /// Cancels the callback if it has not run yet. False when it already ran (or is running).
    bool cancel() { return task_.valid() && !task_.is_done() && task_.cancel(); }
    bool done() const { return task_.is_done(); }
    void detach() noexcept { task_.detach(); }

private:
    JoinHandle<void> task_;
};

namespace detail {
inline Task<void> run_at(Clock::time_point when, std::function<void()> callback) {
    co_await sleep_until(when);
    throw_if_cancelled(tls_task());  // cancel() that came after the timer fired still wins
    callback();
}
}  // namespace detail

inline TimerHandle call_at(Clock::time_point when, std::function<void()> callback) {
    return TimerHandle(spawn(detail::run_at(when, std::move(callback)), "call_at"));
}

template <class Rep, class Period>
TimerHandle call_later(std::chrono::duration<Rep, Period> delay, std::function<void()> callback) {
    return call_at(detail::deadline_after(now(), delay), std::move(callback));
}

}  // namespace weft
