// co_await weft::yield_now(): let every other ready task on this worker run first
// (asyncio.sleep(0), tokio::task::yield_now).
//
//   for (auto& item : batch) {
//       process(item);
//       co_await weft::yield_now();   // stay fair to the loop's other tasks
//   }
//
// The task goes to the back of its worker's queue: it runs again after the tasks that
// were ready when it yielded. Outside a weft task it throws UsageError.
#pragma once

#include <coroutine>

namespace weft {

namespace detail {
void yield_suspend(std::coroutine_handle<> awaiting);
// The cooperative budget's yield: an awaitable whose budget is spent suspends through it and,
// not calling yield_resume, returns what it completed (not a cancellation point). The worker
// runs its timers, sockets and injected tasks first; the task goes to the back of the round
// only every Worker::kCoopRoundEvery budgets (see run_task).
void coop_yield_suspend(std::coroutine_handle<> awaiting);
void yield_resume();  // a cancellation point: throws a pending cancellation
}  // namespace detail

class [[nodiscard("co_await it")]] YieldAwaiter {
public:
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> awaiting) const { detail::yield_suspend(awaiting); }
    void await_resume() const { detail::yield_resume(); }
};

inline YieldAwaiter yield_now() noexcept { return {}; }

}  // namespace weft
