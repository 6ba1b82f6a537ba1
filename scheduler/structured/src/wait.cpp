#include <weft/wait.hpp>

#include <weft/detail/context.hpp>

#include "worker.hpp"

namespace weft::detail {

namespace {
// A loop of spawn() calls may have queued them newest first (the fork-join fast path): those
// still queued on this worker start in argument order, as in asyncio.
void start_in_order(const std::vector<TaskHeader*>& tasks) {
    if (Worker* worker = tls_context.worker; worker && !tasks.empty()) worker->start_in_order(tasks);
}
}  // namespace

Task<WaitResult> wait_headers(std::vector<TaskHeader*> tasks, ReturnWhen when) {
    start_in_order(tasks);
    WaitResult result;
    std::vector<bool> finished(tasks.size(), false);
    if (!tasks.empty()) {
        CompletionSet set(tasks);
        while (auto index = co_await set.next()) {
            finished[*index] = true;
            result.done.push_back(*index);
            if (when == ReturnWhen::first_completed) break;
            if (when == ReturnWhen::first_exception && tasks[*index]->exception) break;
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
