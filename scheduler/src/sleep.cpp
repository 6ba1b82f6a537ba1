// sleep() and timeout scopes on top of the worker's timing wheel (timers.cpp).
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>

#include <weft/detail/context.hpp>
#include <weft/error.hpp>
#include <weft/yield.hpp>

namespace weft {

namespace detail {

void sleep_suspend(Clock::time_point deadline, TimerEntry*& entry, std::coroutine_handle<> awaiting) {
    TaskHeader* self = current_task_or_throw("weft::sleep()");
    if (cancel_pending(self) || deadline <= runtime_now()) {
        yield_suspend(awaiting);  // sleep(0) yields; a pending cancellation is thrown on resume
        return;
    }
    Waker waker = prepare_cancellable_suspend(self, awaiting);
    entry = arm_timer(waker, deadline, /*kind_timeout=*/false);
}

void sleep_resume(TimerEntry* entry) {
    TaskHeader* self = tls_context.task;
    if (entry && settle_timer(entry)) return;  // it fired: a cancellation waits for the next await
    if (self) throw_if_cancelled(self);
    if (entry) throw Error("weft internal error: a sleep resumed before its deadline without cancellation");
}

}  // namespace detail

TimeoutScope::TimeoutScope(Clock::time_point deadline)
    : task_(detail::current_task_or_throw("weft::timeout()")), deadline_(deadline) {
    arm();
}

TimeoutScope::~TimeoutScope() {
    if (settle()) {
        // Expired but not delivered (no await was pending): it must not leak past the scope.
        task_->cancel_bits.fetch_and(~detail::task_state::kTimeoutRequested, std::memory_order_acq_rel);
    }
}

void TimeoutScope::arm() {
    detail::Waker waker{task_, 0};
    entry_ = detail::arm_timer(waker, deadline_, /*kind_timeout=*/true);
}

bool TimeoutScope::settle() noexcept {
    if (!entry_) return expired_;
    bool fired = detail::settle_timer(std::exchange(entry_, nullptr));
    expired_ = expired_ || fired;
    return fired;
}

void TimeoutScope::reschedule(Clock::time_point deadline) {
    if (settle()) throw UsageError("TimeoutScope::reschedule: the deadline has already expired");
    deadline_ = deadline;
    arm();
}

bool TimeoutScope::expired() const noexcept {
    if (expired_) return true;
    return entry_ && detail::timer_fired(entry_);
}

}  // namespace weft
