#include <weft/detail/waiter_queue.hpp>

#include <weft/error.hpp>

namespace weft::detail {

std::size_t WaiterQueue::visit_parked(const Visit& visit) noexcept {
    if (!guard_.try_lock()) return kGuardBusy;
    std::size_t waiting = 0;
    // Under guard every linked node's task is suspended here, so its header is alive.
    for (WaiterNode* node = head_; node; node = node->next) {
        if (node->waker.task->runtime != visit.runtime) continue;
        ++waiting;
        visit.each(node->waker, visit.context);  // (it only schedules: no lock of ours is taken)
    }
    guard_.unlock();
    return waiting;
}

void WaiterNode::throw_moved_awaiter() {
    throw UsageError("a weft awaiter was moved after it was awaited: an awaiter may be moved (into wait_for) "
                     "only before its co_await, and is awaited once");
}

void throw_cancelled() {
    TaskHeader* self = current_task_or_throw("a weft::sync wait");
    throw_if_cancelled(self);
    throw Error("weft internal error: a sync wait resumed with neither its source nor a cancellation");
}

}  // namespace weft::detail
