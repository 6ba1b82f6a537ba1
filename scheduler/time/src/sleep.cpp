// sleep() on top of the worker's timing wheel (timers.cpp).
#include <weft/sleep.hpp>

#include <weft/detail/context.hpp>
#include <weft/detail/task_trace.hpp>
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
    note_await(self, AwaitKind::sleep, "weft::sleep()", nullptr,
               static_cast<std::uint64_t>(
                   std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count()));
    Waker waker = prepare_cancellable_suspend(self, awaiting);
    entry = arm_timer(waker, deadline, /*kind_timeout=*/false);
}

void sleep_resume(TimerEntry* entry) {
    TaskHeader* self = tls_context.task;
    const bool fired = entry && settle_timer(entry);
    // Even when the timer fired first: a cancel() that returned true while the task waited
    // (or was woken and had not run yet) takes effect here (asyncio's _must_cancel).
    if (self) throw_if_cancelled(self);
    if (entry && !fired) throw Error("weft internal error: a sleep resumed before its deadline without cancellation");
}

}  // namespace detail

}  // namespace weft
