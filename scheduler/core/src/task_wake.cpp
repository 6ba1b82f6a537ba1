// How a suspension ends: wake() by its source, or a cancellation (request_cancel); and the
// suspensions that only yield to the loop. The state word changes through task_transitions.hpp;
// where a woken task goes is place()'s (task_placement.cpp).
#include <weft/detail/task_header.hpp>

#include <memory>
#include <string>

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

namespace {

// `message` (owned, may be null) goes with the request to the task that delivers it.
// `forward`: a task waiting on a started child passes the request on (forward_cancel); false
// when forward_cancel itself is passing a request down a chain of joins.
bool request_cancel_as(TaskHeader* task, std::uint32_t bit, std::string* message, bool forward) noexcept {
    // A child running inline inside another task's join suspends as that task: the
    // request goes to the host, whose pending await (inside the child) then throws.
    if (task->join_waiter.load(memory_order_acquire) == kJoinClosed) {
        delete message;
        return false;
    }
    if (TaskHeader* host = task->inline_host.load(memory_order_acquire)) {
        // The child is marked, so that its join can take back a request it leaves undelivered
        // (it returns before another await): asyncio then ends the child cancelled, not its host.
        if (bit == ts::kCancelRequested) {
            TaskExtras& child = task->extras();
            std::uint32_t delivery = host->extras().cancel_deliveries.load(memory_order_acquire);
            if (child.forwarded_before_delivery.exchange(delivery, memory_order_acq_rel) != delivery)
                child.forwarded_cancels.store(0, memory_order_relaxed);  // the earlier ones were delivered
            child.forwarded_cancels.fetch_add(1, memory_order_acq_rel);
            task->cancel_bits.fetch_or(bit, memory_order_release);
        }
        return request_cancel_as(host, bit, message, forward);
    }
    if (bit == ts::kCancelRequested) task->extras().pending_cancels.fetch_add(1, memory_order_acq_rel);
    // (Counted so that a join passes each deadline on to its child: forward_cancel.)
    if (bit == ts::kTimeoutRequested) task->extras().timeouts_requested.fetch_add(1, memory_order_acq_rel);
    // The message before the bit: the delivery clears the bit, then takes the message.
    if (message) delete task->extras().cancel_message.exchange(message, memory_order_acq_rel);
    // Request first, then look at the state word (transition::cancel).
    // (seq_cst: against a joiner publishing the child it waits on, forward_cancel.)
    if (task->cancel_bits.fetch_or(bit, memory_order_seq_cst) & ts::kOutcomeDecided) return false;
    if (transition::cancel(task)) place_or_die(task, Placement::woken);
    // It awaits a started child: the request goes there (asyncio). After the poke above, not
    // before: once the request has moved, the task may finish its join and enter a cancellable
    // wait that a late poke would end with nothing to deliver.
    if (forward) forward_cancel(task);
    return true;
}

// asyncio's cancelling() counts the cancel() calls that returned true (on the task addressed,
// also when an inline join hosts it). Counted before the request, so that the task sees the
// count when the CancelledError reaches it; taken back if the task had already finished.
bool request_cancel_counted(TaskHeader* task, std::uint32_t bit, std::string* message, bool forward) noexcept {
    if (bit != ts::kCancelRequested) return request_cancel_as(task, bit, message, forward);
    if (task->join_waiter.load(memory_order_acquire) == kJoinClosed) {
        delete message;
        return false;
    }
    Atomic<std::uint32_t>& count = task->extras().cancel_requests;
    count.fetch_add(1, memory_order_acq_rel);
    if (request_cancel_as(task, bit, message, forward)) return true;
    count.fetch_sub(1, memory_order_acq_rel);
    return false;
}

}  // namespace

bool request_cancel(TaskHeader* task, std::uint32_t bit) noexcept {
    return request_cancel_counted(task, bit, nullptr, /*forward=*/true);
}

bool request_cancel_unforwarded(TaskHeader* task, std::uint32_t bit, std::string* message) noexcept {
    return request_cancel_counted(task, bit, message, /*forward=*/false);
}

bool request_cancel(TaskHeader* task, std::string_view message) noexcept {
    std::string* owned = nullptr;
    try {
        owned = new std::string(message);
    } catch (...) {  // out of memory: still cancel, without the message
    }
    return request_cancel_counted(task, ts::kCancelRequested, owned, /*forward=*/true);
}

void propagate_cancel(TaskHeader* self, TaskHeader* target) noexcept {
    TaskExtras* extras = self->extras_if_any();
    bool from_cancel = self->cancel_bits.load(memory_order_acquire) & ts::kCancelRequested;
    // The message is only ever swapped, never read in place (a cancel(msg) from another thread
    // may replace and free it): take it, copy it, and put it back unless a newer one came.
    std::unique_ptr<std::string> message(
        extras && from_cancel ? extras->cancel_message.exchange(nullptr, memory_order_acq_rel) : nullptr);
    if (!message) {
        request_cancel(target, ts::kCancelRequested);
        return;
    }
    request_cancel(target, std::string_view(*message));
    std::string* expected = nullptr;
    if (extras->cancel_message.compare_exchange_strong(expected, message.get(), memory_order_acq_rel))
        message.release();
}

std::exception_ptr cancelled_error_for(TaskHeader* task) noexcept {
    TaskExtras* extras = task->extras_if_any();
    std::unique_ptr<std::string> message(extras ? extras->cancel_message.exchange(nullptr, memory_order_acq_rel)
                                                : nullptr);
    try {
        return message ? std::make_exception_ptr(CancelledError(std::move(*message)))
                       : std::make_exception_ptr(CancelledError());
    } catch (...) {
        return std::current_exception();  // (std::bad_alloc: the message could not be copied)
    }
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
        if (TaskExtras* extras = task->extras_if_any()) extras->cancel_delivered();
        std::rethrow_exception(cancelled_error_for(task));
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
