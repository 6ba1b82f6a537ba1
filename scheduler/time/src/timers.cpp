#include <weft/detail/context.hpp>
#include <weft/detail/frame_allocator.hpp>
#include <weft/detail/task_transitions.hpp>
#include <weft/detail/timer.hpp>
#include <weft/error.hpp>

#include <new>
#include <thread>

#include "runtime_core.hpp"
#include "timer_entry.hpp"
#include "worker.hpp"

namespace weft::detail {

TimerEntry* TimerEntry::create(Kind kind, Waker waker, Worker* owner) {
    auto* entry = new (allocate_frame(sizeof(TimerEntry))) TimerEntry();
    entry->kind = kind;
    entry->waker = waker;
    entry->owner = owner;
    return entry;
}

void TimerEntry::destroy(TimerEntry* entry) noexcept {
    entry->~TimerEntry();
    free_frame(entry, sizeof(TimerEntry));
}

TimerEntry* arm_timer(Waker waker, Clock::time_point deadline, bool kind_timeout) {
    Worker* worker = tls_context.worker;
    if (!worker) throw UsageError("weft timers (sleep, timeout) used outside a weft task");
    auto* entry = TimerEntry::create(kind_timeout ? TimerEntry::Kind::timeout : TimerEntry::Kind::sleep, waker, worker);
    worker->arm(entry, worker->core().ticks_at(deadline));
    return entry;
}

bool settle_timer(TimerEntry* entry) noexcept {
    // Read before the CAS: once the entry is cancelled, its owner's wheel may free it.
    Worker* owner = entry->owner;
    std::uint8_t state = TimerEntry::kArmed;
    while (!entry->state.compare_exchange_weak(state, TimerEntry::kCancelled, memory_order_acq_rel,
                                               memory_order_acquire)) {
        if (state == TimerEntry::kArmed) continue;  // (spurious)
        if (state == TimerEntry::kPoking) {         // the draining owner is cancelling us through it
            std::this_thread::yield();
            state = TimerEntry::kArmed;
            continue;
        }
        while (entry->state.load(memory_order_acquire) == TimerEntry::kFiring) std::this_thread::yield();
        TimerEntry::destroy(entry);
        return true;
    }
    // Ours to cancel. The owning worker unlinks it now; another thread hands it to the
    // owner, which frees it at its next timer check (not at the deadline: a server with
    // a 30 s timeout per request would keep 30 s worth of dead entries).
    if (tls_context.worker == owner) {
        owner->disarm(entry);
    } else {
        owner->disarm_remote(entry);
    }
    return false;
}

bool timer_fired(const TimerEntry* entry) noexcept {
    std::uint8_t state = entry->state.load(memory_order_acquire);
    return state == TimerEntry::kFiring || state == TimerEntry::kFired;
}

std::size_t armed_timer_entries() noexcept {
    Worker* worker = tls_context.worker;
    if (!worker) return 0;
    RuntimeCore& core = worker->core();
    std::size_t total = 0;
    for (unsigned i = 0; i < core.worker_count(); ++i) total += core.worker(i).armed_timers();
    return total;
}

Clock::time_point runtime_now() noexcept {
    Worker* worker = tls_context.worker;
    return worker ? worker->core().now() : Clock::now();
}

// Called by the owning worker's wheel when the deadline is reached.
void fire_timer(TimerEntry* entry) noexcept {
    std::uint8_t state = TimerEntry::kArmed;
    if (!entry->state.compare_exchange_strong(state, TimerEntry::kFiring, memory_order_acq_rel))
        return;  // cancelled on another thread: it is (or is about to be) in our remote list

    if (entry->kind == TimerEntry::Kind::sleep) {
        wake(entry->waker);
    } else {
        request_cancel(entry->waker.task, task_state::kTimeoutRequested);
    }
    entry->state.store(TimerEntry::kFired, memory_order_release);
}

bool shutdown_cancel_through(TimerEntry* entry) noexcept {
    std::uint8_t state = TimerEntry::kArmed;
    if (!entry->state.compare_exchange_strong(state, TimerEntry::kPoking, memory_order_acq_rel))
        return false;  // cancelled by its task on another thread: freed with the remote list
    // Held `poking`, the entry keeps its task from settling it, so the task is alive here.
    request_shutdown_cancel(entry->waker.task);
    entry->state.store(TimerEntry::kArmed, memory_order_release);
    return true;
}

// Shutdown: the wheel is dropped. A sleeper is abandoned with its task; a timeout
// entry is left to its scope (marked fired, never delivered), whose destructor frees it.
void drop_timer(TimerEntry* entry, std::vector<std::string>& stragglers) noexcept {
    std::uint8_t state = TimerEntry::kArmed;
    std::uint8_t next = entry->kind == TimerEntry::Kind::timeout ? TimerEntry::kFired : TimerEntry::kCancelled;
    if (!entry->state.compare_exchange_strong(state, next, memory_order_acq_rel))
        return;  // cancelled elsewhere: freed with the remote list (Worker::drain_timers)

    if (entry->kind == TimerEntry::Kind::timeout) return;
    Waker waker = entry->waker;
    TimerEntry::destroy(entry);
    // No worker runs any more, so the sleeper is idle: take it over and abandon it.
    if (transition::take_over_idle(waker)) abandon_task(waker.task, &stragglers);
}

}  // namespace weft::detail
