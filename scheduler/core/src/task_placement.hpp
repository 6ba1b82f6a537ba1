// Where a task goes (task_placement.cpp): every path that queues a task to run (a wake, a
// cancellation, a spawn, an ordered start) ends in place().
#pragma once

#include <weft/detail/context.hpp>
#include <weft/detail/task_header.hpp>

#include "runtime_core.hpp"
#include "worker.hpp"

namespace weft::detail {

enum class Placement : unsigned char {
    woken,    // its source ended a suspension: this worker's LIFO slot (cache-hot)
    spawned,  // a new task: this worker's local queue (newest first, stealable once published)
    last,     // an ordered start (gather, wait, TaskGroup): the back of this worker's round
};

// The worker of `runtime` running on this thread, or nullptr (another thread, or a worker of
// another runtime). The one "is this my worker?" test.
[[gnu::always_inline]] inline Worker* own_worker(const RuntimeCore* runtime) noexcept {
    Worker* worker = tls_context.worker;
    return worker && &worker->core() == runtime ? worker : nullptr;
}

// Queues `task` (its state word already says kScheduled) where `where` says on this thread's
// worker if it belongs to the task's runtime; from anywhere else, into the runtime's
// injection queue (a parked worker is woken if nobody searches). Inline: every wake-up
// passes here, with `where` known at the call.
[[gnu::always_inline]] inline void place(TaskHeader* task, Placement where) {
    Worker* worker = own_worker(task->runtime);
    if (!worker) [[unlikely]] {
        task->runtime->inject(task);  // from another thread (or runtime): any worker takes it
        return;
    }
    switch (where) {
        case Placement::woken:
            worker->schedule_woken(task);  // the LIFO slot
            return;
        case Placement::spawned:
            worker->push_spawned(task);  // the local queue, newest first
            return;
        case Placement::last:
            worker->push_last(task);  // the back of the round, first-in first-out
            return;
    }
}

// For callers that cannot throw (wakers): out of memory terminates, logged.
[[noreturn, gnu::noinline]] void placement_failed(TaskHeader* task) noexcept;
[[gnu::always_inline]] inline void place_or_die(TaskHeader* task, Placement where) noexcept {
    try {
        place(task, where);
    } catch (...) {
        placement_failed(task);
    }
}

}  // namespace weft::detail
