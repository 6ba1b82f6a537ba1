#include <weft/gather.hpp>

namespace weft::detail {

namespace {

void cancel_unfinished(const std::vector<TaskHeader*>& tasks) noexcept {
    for (TaskHeader* task : tasks) request_cancel(task, task_state::kCancelRequested);
}

}  // namespace

Task<void> gather_wait(std::vector<TaskHeader*> tasks, GatherMode mode) {
    std::exception_ptr failure;
    std::exception_ptr cancellation;
    {
        CompletionSet set(tasks);
        try {
            while (auto index = co_await set.next()) {
                if (mode == GatherMode::fail_fast && tasks[*index]->exception) {
                    tasks[*index]->result_taken = true;  // it reaches the gatherer: not unobserved
                    failure = tasks[*index]->exception;
                    break;
                }
            }
        } catch (...) {
            // The gathering task was cancelled: so are its children, and (asyncio) the gather
            // ends only when they have, since they may use what the caller's frame holds.
            // Further cancellations while they unwind wait for them too.
            cancellation = std::current_exception();
        }
        if (cancellation) {
            cancel_unfinished(tasks);
            for (;;) {
                try {
                    if (!co_await set.next()) break;
                } catch (...) {
                }
            }
        }
    }
    if (cancellation) std::rethrow_exception(cancellation);
    if (failure) std::rethrow_exception(failure);
    if (mode == GatherMode::all_then_first_failure) {
        for (TaskHeader* task : tasks) {
            if (task->exception) {
                task->result_taken = true;  // it reaches the caller: not unobserved
                std::rethrow_exception(task->exception);
            }
        }
    }
}

Task<std::size_t> first_then_cancel_rest(std::vector<TaskHeader*> tasks) {
    CompletionSet set(tasks);
    std::exception_ptr cancellation;
    std::optional<std::size_t> winner;
    try {
        winner = co_await set.next();
    } catch (...) {
        cancellation = std::current_exception();
    }
    for (std::size_t i = 0; i < tasks.size(); ++i)
        if (!winner || i != *winner) request_cancel(tasks[i], task_state::kCancelRequested);
    // Structured: nobody outlives when_any. Further cancellations wait for the losers too.
    for (;;) {
        try {
            if (!co_await set.next()) break;
        } catch (...) {
            if (!cancellation) cancellation = std::current_exception();
        }
    }
    if (cancellation) std::rethrow_exception(cancellation);
    for (std::size_t i = 0; i < tasks.size(); ++i)
        if (i != *winner) tasks[i]->result_taken = true;  // losers were cancelled on purpose
    co_return *winner;
}

}  // namespace weft::detail
