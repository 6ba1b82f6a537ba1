// The exceptions of weft's queues (asyncio.QueueFull / QueueEmpty / QueueShutDown).
//
//   try { queue.put_nowait(job); }
//   catch (const weft::QueueFull&) { dropped++; }            // bounded and full
//   catch (const weft::QueueShutDown&) { return; }           // shutdown() was called
#pragma once

#include <weft/error.hpp>

namespace weft {

/// put_nowait() on a bounded queue that is full.
class QueueFull : public Error {
public:
    QueueFull() : Error("weft queue: put_nowait() on a full queue") {}
};

/// get_nowait() on an empty queue.
class QueueEmpty : public Error {
public:
    QueueEmpty() : Error("weft queue: get_nowait() on an empty queue") {}
};

/// put() after shutdown(), or get() on a shut-down queue that has been drained.
class QueueShutDown : public Error {
public:
    QueueShutDown() : Error("weft queue: the queue has been shut down") {}
};

}  // namespace weft
