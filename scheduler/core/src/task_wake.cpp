// How a suspension ends: wake() by its source, or a cancellation (request_cancel); and the
// suspensions that only yield to the loop. The state word changes through task_transitions.hpp;
// where a woken task goes is place()'s (task_placement.cpp).
#include <weft/detail/task_header.hpp>

#include <weft/detail/context.hpp>
#include <weft/detail/task_transitions.hpp>
#include <weft/error.hpp>
#include <weft/timeout.hpp>
#include <weft/yield.hpp>

#include "task_placement.hpp"
#include "worker.hpp"

namespace weft::detail {

namespace ts = task_state;

void wake(Waker waker) noexcept {
    if (transition::wake(waker)) place_or_die(waker.task, Placement::woken);
}

Waker prepare_cancellable_suspend(TaskHeader* self, std::coroutine_handle<> awaiting) noexcept {
    self->resume_point = awaiting;
    tls_context.cancellable_suspend = true;
    return Waker{self, ts::epoch_of(self->state.load(memory_order_relaxed))};
}

void cancellable_suspend_withdrawn() noexcept { tls_context.cancellable_suspend = false; }

bool request_cancel(TaskHeader* task, std::uint32_t bit) noexcept {
    // A child running inline inside another task's join suspends as that task: the
    // request goes to the host, whose pending await (inside the child) then throws.
    if (task->join_waiter.load(memory_order_acquire) == kJoinClosed) return false;
    if (TaskHeader* host = task->inline_host.load(memory_order_acquire)) return request_cancel(host, bit);
    // Request first, then look at the state word (transition::cancel).
    if (task->cancel_bits.fetch_or(bit, memory_order_acq_rel) & ts::kOutcomeDecided) return false;
    if (transition::cancel(task)) place_or_die(task, Placement::woken);
    return true;
}

bool request_shutdown_cancel(TaskHeader* task) noexcept {
    if (transition::mark_shutdown_cancelled(task)) return false;
    return request_cancel(task, ts::kCancelRequested);
}

void throw_if_cancelled(TaskHeader* task) {
    std::uint32_t bits = task->cancel_bits.load(memory_order_acquire);
    if (!(bits & ts::kCancelBits)) return;  // (kOutcomeDecided alone: nothing to deliver)
    // A cancel() from outside comes first and stays a CancelledError; an expired timeout
    // scope's bit stays set and raises at the next await (timeout.cpp).
    if (bits & ts::kCancelRequested) {
        task->cancel_bits.fetch_and(~ts::kCancelRequested, memory_order_acq_rel);
        throw CancelledError();
    }
    TimeoutScopes::throw_expired(task);
}

void yield_suspend(std::coroutine_handle<> awaiting) {
    TaskHeader* task = current_task_or_throw("weft::yield_now()");
    task->resume_point = awaiting;
    tls_context.worker->request_yield();
}

void coop_yield_suspend(std::coroutine_handle<> awaiting) {
    TaskHeader* task = current_task_or_throw("weft: the cooperative budget");
    task->resume_point = awaiting;
    tls_context.worker->request_coop_yield();
}

void yield_resume() {
    if (TaskHeader* task = tls_context.task) throw_if_cancelled(task);
}

}  // namespace weft::detail
