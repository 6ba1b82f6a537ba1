// Where a task goes (task_placement.cpp): every path that queues a task to run (a wake, a
// cancellation, a spawn, an ordered start) ends in place().
#pragma once

#include <weft/detail/task_header.hpp>

namespace weft::detail {

class Worker;

enum class Placement : unsigned char {
    woken,    // its source ended a suspension: this worker's LIFO slot (cache-hot)
    spawned,  // a new task: this worker's local queue (newest first, stealable once published)
    last,     // an ordered start (gather, wait, TaskGroup): the back of this worker's round
};

// The worker of `runtime` running on this thread, or nullptr (another thread, or a worker of
// another runtime). The one "is this my worker?" test.
Worker* own_worker(const RuntimeCore* runtime) noexcept;

// Queues `task` (its state word already says kScheduled) where `where` says on this thread's
// worker if it belongs to the task's runtime; from anywhere else, into the runtime's
// injection queue (a parked worker is woken if nobody searches).
void place(TaskHeader* task, Placement where);
// For callers that cannot throw (wakers): out of memory terminates, logged.
void place_or_die(TaskHeader* task, Placement where) noexcept;

}  // namespace weft::detail
