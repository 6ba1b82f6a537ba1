// What the current thread is doing for weft: which worker it is (if any) and which
// task it is resuming. Thread-local, read on every suspension, so kept trivial.
#pragma once

#include <coroutine>

namespace weft::detail {

class Worker;
class TaskHeader;
class RuntimeCore;
class LocalQueue;

struct ThreadContext {
    Worker* worker = nullptr;
    RuntimeCore* runtime = nullptr;  // the worker's runtime (read by spawn without a call)
    TaskHeader* task = nullptr;
    bool cancellable_suspend = false;  // the awaiter now suspending accepts cancellation
    // The worker's queue, for the inline fork-join path (fork_join.hpp): set exactly when
    // `worker` is.
    LocalQueue* queue = nullptr;
    unsigned nested_runs = 0;  // see run_nested
    unsigned coop_budget = 0;  // ready awaits left to the running task (see coop_spend)
    unsigned inline_join_budget = 0;  // inline joins left to it (see inline_join_spend)
};

inline thread_local ThreadContext tls_context{};

// The cooperative budget (DESIGN.md; Tokio's coop): ready awaits a task may make in one resume.
inline constexpr unsigned kCoopBudget = 128;

// An awaitable that completed without waiting calls this. True: go on (one ready await spent).
// False: the budget is spent: the awaitable keeps what it completed but suspends through
// yield_suspend() before returning it, so the worker's loop runs its timers, sockets and other
// tasks. The worker refills the budget whenever it resumes a task. (Outside a task: true.)
inline bool coop_spend() noexcept {
    ThreadContext& context = tls_context;
    if (context.coop_budget != 0) [[likely]] {
        --context.coop_budget;
        return true;
    }
    return context.task == nullptr;
}

// Joins of children run inline (fork-join, fork_join.hpp) draw on a budget of their own, 32
// times larger: each refused inline join costs a real suspension (fib: one in 128 cost 20%),
// while one in 4096 keeps a task that only ever joins from holding its loop for long.
inline constexpr unsigned kInlineJoinBudget = kCoopBudget * 32;
inline bool inline_join_spend() noexcept {
    ThreadContext& context = tls_context;
    if (context.inline_join_budget != 0) [[likely]] {
        --context.inline_join_budget;
        return true;
    }
    return context.task == nullptr;
}

// Nested runs: an awaited coroutine (a Task, or a spawned child taken back for an inline
// join) started as a plain call rather than by symmetric transfer. If it finishes at once,
// its awaiter goes on without suspending or being re-entered (fib: 12% faster); if it
// suspends, the call returns and the awaiter suspends in turn. Bounded, so that deep await
// chains go on by symmetric transfer and the stack stays small.
inline constexpr unsigned kMaxNestedRuns = 128;

inline bool may_run_nested() noexcept { return tls_context.nested_runs < kMaxNestedRuns; }

// Runs `child` (continuation unset: it returns here) until it finishes or suspends; for a
// child that may free itself as it finishes, so its frame is not looked at afterwards.
[[gnu::always_inline]] inline void run_nested_unchecked(std::coroutine_handle<> child) noexcept {
    ThreadContext& context = tls_context;
    ++context.nested_runs;
    child.resume();
    --context.nested_runs;
}

// Runs `child`, whose continuation is unset (so it returns here), until it finishes or
// suspends. True if it finished.
inline bool run_nested(std::coroutine_handle<> child) noexcept {
    ThreadContext& context = tls_context;
    ++context.nested_runs;
    child.resume();
    --context.nested_runs;
    return child.done();
}

}  // namespace weft::detail
