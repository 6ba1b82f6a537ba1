// The named transitions of a task's state word (task_header.hpp has the diagram). Every write
// of TaskHeader::state goes through one of these; each says who calls it and what its caller
// must do next. They change the word and nothing else: placing the task (place(),
// task_placement.cpp) is the caller's.
//
// Memory ordering: the word is the hand-off between a task's waker and the worker that runs
// it. end_resume()'s CAS (acq_rel) publishes everything the resume wrote; the waker's CAS in
// wake() (acq_rel) acquires it before it places the task; begin_resume() (acquire) then sees
// everything written before the placement. Cancellation sets its bit in cancel_bits first,
// then pokes this word with an RMW (cancel()), so a worker's end_resume() CAS that reads the
// poke also sees the bit.
#pragma once

#include <cstdint>

#include <weft/detail/atomic.hpp>
#include <weft/detail/build_config.hpp>
#include <weft/detail/task_header.hpp>

namespace weft::detail::transition {

// Spawning, before the task is published (a plain store: nobody else can see it yet). A
// task spawned while its runtime drains is marked as one the shutdown does not cancel.
inline void spawned(TaskHeader* task, bool draining) noexcept {
    task->state.store(draining ? task_state::kScheduled | task_state::kShutdownCancelled : task_state::kScheduled,
                      memory_order_relaxed);
}

// The worker about to resume it: scheduled -> running, with a new resume epoch, in one add
// (kScheduled + 1 == kRunning). An RMW, not a store: cancel() may poke at any moment.
// Returns the word before.
[[gnu::always_inline]] inline std::uint64_t begin_resume(TaskHeader* task) noexcept {
    static_assert(task_state::kRunning == task_state::kScheduled << 1);
    std::uint64_t before = task->state.fetch_add(task_state::kEpochOne + task_state::kScheduled, memory_order_acquire);
    // Only a scheduled task is resumed, and by one worker at a time.
    WEFT_ASSERT((before & (task_state::kScheduled | task_state::kRunning | task_state::kComplete)) ==
                task_state::kScheduled);
    return before;
}

// The worker, after a resume that did not finish the task: running -> scheduled (it yielded,
// was woken while running, or a cancellation ends the cancellable wait it entered),
// idle-in-a-cancellable-wait, or idle. Returns the new word: with kScheduled the worker
// queues it again; without, the task belongs to its waker and the worker reads nothing of
// it any more.
// A cancellation requested before this point is seen here or as kCancelPoke in the CAS (cancel()
// sets its bit, then pokes the word), so one that arrived while the task was suspending is
// delivered now. A poke only says "look": the bits may have been consumed or withdrawn since
// (a timeout scope that ended first), and a spurious resume would confuse the awaiter.
[[gnu::always_inline]] inline std::uint64_t end_resume(TaskHeader* task, bool yielded, bool cancellable) noexcept {
    namespace ts = task_state;
    bool cancel_seen = cancellable && cancel_pending(task);
    std::uint64_t state = task->state.load(memory_order_acquire);
    WEFT_ASSERT((state & (task_state::kRunning | task_state::kScheduled)) == task_state::kRunning);
    std::uint64_t next;
    do {
        bool cancel = cancellable && (cancel_seen || ((state & ts::kCancelPoke) && cancel_pending(task)));
        bool requeue = yielded || (state & ts::kNotified) || cancel;
        next = state & ~(ts::kRunning | ts::kNotified | ts::kCancelPoke);
        if (requeue) {
            next |= ts::kScheduled;
        } else if (cancellable) {
            next |= ts::kWaitCancellable;
        }
    } while (!task->state.compare_exchange_weak(state, next, memory_order_acq_rel, memory_order_acquire));
    return next;
}

// A source ending the suspension `waker` was made for: idle -> scheduled (true: the caller
// places the task), or running -> notified (its worker queues it again after the resume).
// A waker of an earlier suspension (old epoch), or a task already scheduled, notified or
// complete, changes nothing.
[[gnu::always_inline]] inline bool wake(Waker waker) noexcept {
    namespace ts = task_state;
    TaskHeader* task = waker.task;
    std::uint64_t state = task->state.load(memory_order_relaxed);
    for (;;) {
        if (ts::epoch_of(state) != waker.epoch) return false;  // that suspension is over
        if (state & (ts::kScheduled | ts::kNotified | ts::kComplete)) return false;
        std::uint64_t next =
            (state & ts::kRunning) ? (state | ts::kNotified) : ((state | ts::kScheduled) & ~ts::kWaitCancellable);
        if (task->state.compare_exchange_weak(state, next, memory_order_acq_rel, memory_order_relaxed))
            return (next & ts::kScheduled) != 0;
    }
}

// cancel(), after setting its bit in cancel_bits: a task idle in a cancellable wait ->
// scheduled (true: the caller places it, and its awaiter throws); a scheduled or running one
// is poked (end_resume() then re-queues it if it suspends cancellably); one idle in a wait
// cancellation may not end is left alone (delivered at its next await). Always an RMW, even
// when nothing changes: it reads the latest word, and a worker that later starts the task
// (an RMW on the same word) then sees the bit.
inline bool cancel(TaskHeader* task) noexcept {
    namespace ts = task_state;
    std::uint64_t state = task->state.load(memory_order_relaxed);
    std::uint64_t next;
    do {
        if (state & ts::kComplete) return false;
        if (state & (ts::kScheduled | ts::kRunning)) {
            next = state | ts::kCancelPoke;
        } else if (state & ts::kWaitCancellable) {
            next = (state | ts::kScheduled) & ~ts::kWaitCancellable;
        } else {
            next = state;
        }
    } while (!task->state.compare_exchange_weak(state, next, memory_order_acq_rel, memory_order_relaxed));
    return (next & ts::kScheduled) && !(state & (ts::kScheduled | ts::kRunning));
}

// The shutdown marks a task it cancels (once), or one spawned while it drains. Returns
// whether it was marked already.
inline bool mark_shutdown_cancelled(TaskHeader* task) noexcept {
    return (task->state.fetch_or(task_state::kShutdownCancelled, memory_order_acq_rel) &
            task_state::kShutdownCancelled) != 0;
}

// The stopped runtime abandons a task: it never runs again, and later wakes are ignored.
inline void abandoned(TaskHeader* task) noexcept { task->state.fetch_or(task_state::kComplete, memory_order_acq_rel); }

// The stopped runtime (no worker runs) takes over a task idle in a wait, to abandon it:
// idle -> scheduled, so that no late wake places it. With `waker`: only if that suspension
// is still the task's (a stale waker is skipped). True: the caller now owns the task.
inline bool take_over_idle(TaskHeader* task) noexcept {
    std::uint64_t state = task->state.load(memory_order_acquire);
    return !(state & (task_state::kScheduled | task_state::kComplete)) &&
           task->state.compare_exchange_strong(state, state | task_state::kScheduled, memory_order_acq_rel);
}
inline bool take_over_idle(Waker waker) noexcept {
    std::uint64_t state = waker.task->state.load(memory_order_acquire);
    return task_state::epoch_of(state) == waker.epoch && !(state & (task_state::kScheduled | task_state::kComplete)) &&
           waker.task->state.compare_exchange_strong(state, state | task_state::kScheduled, memory_order_acq_rel);
}

}  // namespace weft::detail::transition
