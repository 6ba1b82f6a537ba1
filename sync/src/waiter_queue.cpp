#include <weft/detail/waiter_queue.hpp>

#include <weft/error.hpp>

#include <spdlog/spdlog.h>

#include <string>

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

void WaiterQueue::abandon_waiters() noexcept {
    std::string tasks;
    std::size_t count = 0;
    guard_.lock();
    while (WaiterNode* node = pop_front()) {
        // Each waiter is still suspended here (only this wake, or a cancel() racing the
        // destructor, which no check can make safe, resumes it), so its header is alive.
        const Waker waker = node->waker;
        TaskHeader* task = waiting_task(waker);
        if (count < 8) {
            std::string_view name = task->name_view();
            tasks += count ? ", " : "";
            tasks += "task " + std::to_string(task->id());
            if (!name.empty()) tasks += " '" + std::string(name) + "'";
        }
        ++count;
        // Abandoned before the wake (unlike a source's `woken`): the task must never find the
        // node still queued and reach for this primitive's guard, which is about to be freed.
        node->state.store(WaitState::abandoned, memory_order_release);  // last touch of the node
        wake(waker);  // (only schedules: fine under guard)
    }
    guard_.unlock();
    spdlog::error("weft: a sync primitive was destroyed while {} task(s) waited on it ({}{}); they resume with "
                  "UsageError. A Lock, Event, Queue, ... must outlive every task that awaits it",
                  count, tasks, count > 8 ? ", ..." : "");
}

void throw_abandoned() {
    throw UsageError("the weft sync primitive this task waited on was destroyed while it waited (a Lock, Event, "
                     "Queue, ... must outlive every task that awaits it)");
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
