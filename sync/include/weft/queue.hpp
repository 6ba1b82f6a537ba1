// weft::Queue, LifoQueue, PriorityQueue (asyncio.Queue and friends): queues between tasks,
// with backpressure when bounded.
//
//   weft::Queue<Job> jobs(64);                       // maxsize 64; 0 = unbounded
//   // producer:                                     // consumer:
//   co_await jobs.put(make_job());                   //   Job job = co_await jobs.get();
//   co_await jobs.join();   // all done              //   run(job); jobs.task_done();
//   jobs.shutdown();        // consumers' get() throws QueueShutDown once drained
//
// put() waits while the queue is full, get() while it is empty; both are cancellation points.
// A put() that finds a task waiting in get() hands the item straight to it, and a get() that
// makes room moves the longest-waiting putter's item in; the woken task resumes on a worker
// loop, never inside the call that woke it. Cancellation never loses an item. A cancel() that
// returned true wins even if an item was handed to the getter before it got to run (asyncio's
// rule): get() throws and the item goes to the next waiting getter, or back into the queue (at
// the back; only if the queue filled up meanwhile does get() return the item, the cancellation
// then coming at the task's next await). A put() that throws CancelledError put nothing; a
// putter whose item was moved in before the cancel() landed returns normally (the item is in),
// and a task that then finishes without another await still ends cancelled.
//
// join()/task_done() and shutdown(immediate) follow asyncio 3.13: see the member comments.
// LifoQueue returns the newest item first; PriorityQueue<T, Compare> the smallest under
// Compare (std::less: lowest first, like asyncio). put_nowait()/get_nowait() throw QueueFull,
// QueueEmpty or QueueShutDown (<weft/queue_errors.hpp>) instead of waiting.
// maxsize is a limit, not an allocation: asyncio's maxsize=-1 (SIZE_MAX here) or a bound in
// the millions costs memory only as items come. (A bounded Queue whose slots fit in 1 MiB
// makes its lock-free ring at once.)
#pragma once

#include <cstddef>
#include <functional>

#include <weft/detail/basic_queue.hpp>
#include <weft/detail/queue_storage.hpp>
#include <weft/queue_errors.hpp>

namespace weft {

/// First in, first out.
template <class T>
class Queue : public detail::BasicQueue<T, detail::FifoStorage<T>> {
public:
    using detail::BasicQueue<T, detail::FifoStorage<T>>::BasicQueue;
};

/// Last in, first out.
template <class T>
class LifoQueue : public detail::BasicQueue<T, detail::LockedStorage<T, detail::StackContainer<T>>> {
public:
    using detail::BasicQueue<T, detail::LockedStorage<T, detail::StackContainer<T>>>::BasicQueue;
};

/// Smallest first (use std::pair<priority, T> or a Compare for records).
template <class T, class Compare = std::less<T>>
class PriorityQueue : public detail::BasicQueue<T, detail::LockedStorage<T, detail::HeapContainer<T, Compare>>> {
public:
    using detail::BasicQueue<T, detail::LockedStorage<T, detail::HeapContainer<T, Compare>>>::BasicQueue;
};

}  // namespace weft
