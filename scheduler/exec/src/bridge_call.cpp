// The state machine of one bridged call (protocol in weft/detail/bridge_call.hpp).
#include <weft/detail/bridge_call.hpp>

#include <chrono>
#include <thread>

#include <weft/context_var.hpp>
#include <weft/detail/task_trace.hpp>
#include <weft/error.hpp>

#include "executor_bridge.hpp"
#include "runtime_core.hpp"

namespace weft::detail {

namespace {

std::int64_t steady_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace

void BridgeCall::execute() noexcept {
    std::uint8_t status = kQueued;
    if (status_.compare_exchange_strong(status, kRunning, memory_order_acq_rel, memory_order_acquire)) {
        started_at_ns_.store(steady_ns(), memory_order_relaxed);
        if (context_) {
            ThreadContextScope scope(context_);  // the callable sees the awaiting task's ContextVars
            invoke();
        } else {
            invoke();
        }
        status = kRunning;
        // acq_rel: publishes the outcome written by invoke() to the awaiter's acquire.
        if (status_.compare_exchange_strong(status, kCompleting, memory_order_acq_rel, memory_order_acquire)) {
            wake(waker_);
            status_.store(kCompleted, memory_order_release);  // from here on the task may be gone
        }
    }
    InflightCalls::remove(this);
    release();
}

bool BridgeCall::abandon_for_shutdown(bool running_too) noexcept {
    std::uint8_t status = status_.load(memory_order_acquire);
    while (status == kQueued || (running_too && status == kRunning)) {
        if (status_.compare_exchange_weak(status, kAbandoned, memory_order_acq_rel, memory_order_acquire)) {
            on_abandon();
            wake(waker_);  // the loops are stopped: the task is queued, then abandoned
            return true;
        }
    }
    return false;
}

// Why the task is alive here: it can only finish after its awaiter's leave(), which settles
// the status (to abandoned, or sees completed) and only then waits while `pinned_` is set.
// Dekker's pattern, seq_cst on both sides (the pin store and the status load here; the status
// load and the pin load in leave()): either this load sees the status still waiting, and then
// leave() sees the pin and waits for the store of false (release: after the request), or it
// sees the status settled and leaves the task alone. The executor never waits for the pin.
bool BridgeCall::cancel_for_shutdown() noexcept {
    pinned_.store(true, memory_order_seq_cst);
    const std::uint8_t status = status_.load(memory_order_seq_cst);
    const bool waiting = status == kQueued || status == kRunning;
    // (False if the shutdown cancelled it already: a task in its cleanup may offload.)
    if (waiting) request_shutdown_cancel(waker_.task);
    pinned_.store(false, memory_order_release);
    return waiting;
}

bool BridgeCall::suspend(std::coroutine_handle<> awaiting) {
    TaskHeader* self = current_task_or_throw(what_);
    if (cancel_pending(self)) return false;  // resume() delivers it; nothing submitted
    note_await(self, AwaitKind::offload, what_);
    waker_ = prepare_cancellable_suspend(self, awaiting);
    if (g_spawn_extras.load(memory_order_relaxed)) [[unlikely]]
        context_ = current_context();
    refs_.store(2, memory_order_relaxed);  // the awaiter + the executor
    // Publishes the waker, refs and payload to the executor's start CAS (acquire) by itself,
    // whatever hand-off the executor uses (oneTBB's queues are invisible to ThreadSanitizer).
    status_.store(kQueued, memory_order_release);
    try {
        bridge_submit(self->runtime, executor_, this);
    } catch (...) {
        refs_.store(1, memory_order_relaxed);
        cancellable_suspend_withdrawn();
        throw;
    }
    submitted_ = true;  // only the awaiter reads it; this frame keeps the call alive
    return true;
}

std::uint8_t BridgeCall::wait_while_completing(std::uint8_t status) const noexcept {
    // The executor won and is inside wake(): a few instructions away from kCompleted.
    while (status == kCompleting) {
        std::this_thread::yield();
        status = status_.load(memory_order_acquire);
    }
    return status;
}

void BridgeCall::resume() {
    TaskHeader* self = tls_task();
    if (!submitted_) {
        if (self) throw_if_cancelled(self);
        throw Error("weft internal error: a bridged call resumed without being submitted or cancelled");
    }
    std::uint8_t status = status_.load(memory_order_acquire);
    for (;;) {
        if (status == kQueued || status == kRunning) {
            if (!status_.compare_exchange_weak(status, kAbandoned, memory_order_acq_rel, memory_order_acquire))
                continue;
            // Resumed by cancellation: the call runs on (or never starts); its outcome is dropped.
            on_abandon();
            if (self) throw_if_cancelled(self);
            throw Error("weft internal error: a bridged call resumed with neither its outcome nor a cancellation");
        }
        status = wait_while_completing(status);
        if (status == kCompleted) return;  // a pending cancellation waits for the next await
        throw Error("weft internal error: a bridged call was abandoned under its awaiter");
    }
}

void BridgeCall::leave() noexcept {
    if (submitted_) {
        // seq_cst: the status side of cancel_for_shutdown's pattern.
        std::uint8_t status = status_.load(memory_order_seq_cst);
        for (;;) {
            if (status == kQueued || status == kRunning) {
                if (status_.compare_exchange_weak(status, kAbandoned, memory_order_seq_cst, memory_order_seq_cst)) {
                    on_abandon();
                    break;
                }
                continue;
            }
            wait_while_completing(status);
            break;
        }
        // The task may finish once this returns: wait out a drain that is cancelling it.
        while (pinned_.load(memory_order_seq_cst)) std::this_thread::yield();
    }
    release();
}

void BridgeCall::release() noexcept {
    if (refs_.fetch_sub(1, memory_order_acq_rel) == 1) delete this;
}

void bridge_submit(RuntimeCore* runtime, BridgeExecutor executor, BridgeCall* call) {
    runtime->bridge().submit(executor, call);
}

}  // namespace weft::detail
