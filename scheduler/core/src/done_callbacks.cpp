// Done callbacks (weft/done_callback.hpp): who calls each one, exactly once.
//
// Protocol. The list lives in the task's extras; `closed` (under its mutex) says a drain has
// taken it; the task's cancel_bits carry kDoneCallbacks ("a list exists") next to
// kOutcomeDecided, which the completer sets in one RMW that also reads kDoneCallbacks.
//  1. add: lock; if closed, the task has finished: call soon (step 4). Else push; unlock;
//     then fetch_or(kDoneCallbacks). RMWs on one word are totally ordered, so:
//  2. if that RMW came first, the completer's RMW sees kDoneCallbacks: after writing the
//     outcome, and before closing the join word (so the frame is alive and the handle may
//     even be dropped from inside a callback), it drains: lock; closed = true; take all;
//     unlock; calls them (run_done_callbacks).
//  3. if the completer's RMW came first (the add's RMW returns kOutcomeDecided), the
//     completer drains only if an earlier add had set the bit. The adder waits until the
//     completer has closed the join word (its outcome then visible; a drain, if any, done),
//     then drains what is left itself and calls it soon. The lock makes each callback taken
//     by exactly one drain.
//  4. "Soon" (asyncio's call_soon): a small detached task of the task's runtime when the adder
//     is one of its workers (always_start: it runs even if the runtime is draining), else a
//     call right here. The task gets a FinishedTask copy, never a pointer into the frame.
// Completion paths: Worker::complete and complete_unstarted, and abandon_task at shutdown. A
// child joined inline (fork_join.hpp) cannot have callbacks: the join refuses a task whose
// cancel_bits are not 0, and nobody else holds its handle to add one while it runs inline.
#include "done_callbacks.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <weft/detail/context.hpp>
#include <weft/detail/fork_join.hpp>
#include <weft/done_callback.hpp>
#include <weft/error.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>

#include "runtime_core.hpp"

namespace weft::detail {

namespace ts = task_state;

class DoneCallbacks {
public:
    std::mutex mutex;
    bool closed = false;  // a drain took the list: the task has finished
    std::vector<DoneCallback> pending;

    std::vector<DoneCallback> drain() {
        std::lock_guard lock(mutex);
        closed = true;
        return std::exchange(pending, {});
    }
};

void DoneCallbacksSlot::destroy(DoneCallbacks* callbacks) noexcept { delete callbacks; }

namespace {

DoneCallbacks& callbacks_of(TaskHeader* task) {
    DoneCallbacksSlot& slot = task->extras().done_callbacks;
    DoneCallbacks* list = slot.list.load(memory_order_acquire);
    if (list) return *list;
    auto* fresh = new DoneCallbacks();
    if (slot.list.compare_exchange_strong(list, fresh, memory_order_acq_rel, memory_order_acquire)) return *fresh;
    delete fresh;
    return *list;
}

// Only once the outcome is final (the completer wrote it before closing the join word).
FinishedTask snapshot(const TaskHeader* task) {
    return FinishedTask(task->id(), std::string(task->name_view()), task->cancelled, task->exception);
}

void call_logged(DoneCallback& callback, const FinishedTask& finished) noexcept {
    try {
        callback(finished);
    } catch (const std::exception& e) {
        spdlog::error("weft: a done callback of task {} threw: {}", finished.id(), e.what());
    } catch (...) {
        spdlog::error("weft: a done callback of task {} threw a non-std exception", finished.id());
    }
}

Task<void> call_soon_task(std::vector<DoneCallback> callbacks, FinishedTask finished) {
    for (auto& callback : callbacks) call_logged(callback, finished);
    co_return;
}

void call_soon(const TaskHeader* task, std::vector<DoneCallback> callbacks) {
    if (callbacks.empty()) return;
    FinishedTask finished = snapshot(task);
    RuntimeCore* runtime = task->runtime;
    if (!runtime || tls_context.runtime != runtime || runtime->stopping()) {
        for (auto& callback : callbacks) call_logged(callback, finished);
        return;
    }
    Task<void> call = call_soon_task(std::move(callbacks), std::move(finished));
    auto handle = TaskAccess::release(call);
    handle.promise().always_start = true;
    try {
        launch(runtime, &handle.promise(), handle, {});
    } catch (const RuntimeShutDown&) {  // it stopped just now (launch freed the callbacks)
        spdlog::warn("weft: done callbacks dropped: the runtime shut down");
        return;
    }
    release_handle(&handle.promise());  // detached
}

// Waits until the completer has closed the join word (it is a few steps away: see step 3).
void wait_until_closed(const TaskHeader* task) noexcept {
    for (;;) {
        std::uintptr_t value = task->join_waiter.load(memory_order_acquire);
        if (value == kJoinClosed || value == kJoinClosing) return;
        std::this_thread::yield();
    }
}

}  // namespace

void run_done_callbacks(TaskHeader* task) noexcept {
    DoneCallbacks* list = task->extras().done_callbacks.list.load(memory_order_acquire);
    std::vector<DoneCallback> callbacks = list->drain();
    if (callbacks.empty()) return;
    FinishedTask finished = snapshot(task);
    for (auto& callback : callbacks) call_logged(callback, finished);
}

void add_done_callback(TaskHeader* task, DoneCallback callback) {
    if (!callback) throw UsageError("add_done_callback: the callback is empty");
    DoneCallbacks& list = callbacks_of(task);
    {
        std::unique_lock lock(list.mutex);
        if (list.closed) {
            lock.unlock();
            std::vector<DoneCallback> one;
            one.push_back(std::move(callback));
            call_soon(task, std::move(one));
            return;
        }
        list.pending.push_back(std::move(callback));
    }
    if (!(task->cancel_bits.fetch_or(ts::kDoneCallbacks, memory_order_acq_rel) & ts::kOutcomeDecided)) return;
    wait_until_closed(task);
    call_soon(task, list.drain());
}

}  // namespace weft::detail
