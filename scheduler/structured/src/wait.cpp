#include <weft/wait.hpp>

#include <weft/detail/context.hpp>
#include <weft/timeout.hpp>

#include "worker.hpp"

namespace weft::detail {

namespace {
// A loop of spawn() calls may have queued them newest first (the fork-join fast path): those
// still queued on this worker start in argument order, as in asyncio.
void start_in_order(const std::vector<TaskHeader*>& tasks) {
    if (Worker* worker = tls_context.worker; worker && !tasks.empty()) worker->start_in_order(tasks);
}
}  // namespace

Task<WaitResult> wait_headers(std::vector<TaskHeader*> tasks, ReturnWhen when,
                              std::optional<Clock::time_point> deadline) {
    start_in_order(tasks);
    WaitResult result;
    std::vector<bool> finished(tasks.size(), false);
    if (!tasks.empty()) {
        CompletionSet set(tasks);
        std::optional<TimeoutScope> scope;
        if (deadline) scope.emplace(*deadline);
        try {
            while (auto index = co_await set.next()) {
                finished[*index] = true;
                result.done.push_back(*index);
                if (when == ReturnWhen::first_completed) break;
                // (asyncio: a cancelled task is no exception here; a TimeoutError it let out is.)
                if (when == ReturnWhen::first_exception && tasks[*index]->exception && !tasks[*index]->cancelled) break;
            }
        } catch (const TimeoutError& e) {
            if (!scope || e.scope() != &*scope) throw;  // someone else's deadline
            // Ours: return what is done and pending now; nothing is cancelled.
        }
    }
    // Tasks that finished while we stopped looking belong in `done` too.
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        if (finished[i]) continue;
        if (tasks[i]->join_waiter.load(memory_order_acquire) == kJoinClosed) {
            result.done.push_back(i);
        } else {
            result.pending.push_back(i);
        }
    }
    co_return result;
}

}  // namespace weft::detail

namespace weft {

Task<std::optional<std::size_t>> AsCompleted::next() {
    if (!deadline_) co_return co_await set_->next();
    if (!set_) throw TimeoutError("weft::as_completed: the deadline passed before every task finished");
    // One deadline for the whole iteration: a scope per call, each at that time point. A
    // ready completion is returned without suspending, so only a wait raises.
    std::optional<std::size_t> index;
    bool expired = false;
    {
        TimeoutScope scope(*deadline_);
        try {
            index = co_await set_->next();
        } catch (const TimeoutError& e) {
            if (e.scope() != &scope) throw;  // an enclosing deadline
            expired = true;
        }
    }
    if (expired) {
        // The iteration is over: let go of the tasks, so that they may be awaited or waited on.
        set_.reset();
        throw TimeoutError("weft::as_completed: the deadline passed before every task finished");
    }
    co_return index;
}

}  // namespace weft
