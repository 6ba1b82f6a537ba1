#include <weft/detail/waiter_queue.hpp>

#include <weft/error.hpp>

#include <string>
#include <utility>

namespace weft::detail {

std::size_t WaiterQueue::visit_parked(const Visit& visit) noexcept {
    if (!guard_.try_lock()) return kGuardBusy;
    std::size_t waiting = 0;
    // Under guard every linked node's task is suspended here, so its header is alive.
    for (WaiterNode* node = head_; node; node = node->next) {
        TaskHeader* task = node->waker.task;
        if (task->runtime != visit.runtime) continue;
        ++waiting;
        if (visit.cancel) request_shutdown_cancel(task);  // only schedules it: no lock of ours taken
        if (visit.names) {
            try {
                const TaskHeader* who = waiting_task(node->waker);
                std::string_view name = who->name_view();
                std::string named = "task " + std::to_string(who->id());
                if (!name.empty()) named.append(" '").append(name).append("'");
                visit.names->push_back(std::move(named));
            } catch (...) {
                // naming must not fail shutdown
            }
        }
    }
    guard_.unlock();
    return waiting;
}

void throw_cancelled() {
    TaskHeader* self = current_task_or_throw("a weft::sync wait");
    throw_if_cancelled(self);
    throw Error("weft internal error: a sync wait resumed with neither its source nor a cancellation");
}

}  // namespace weft::detail
