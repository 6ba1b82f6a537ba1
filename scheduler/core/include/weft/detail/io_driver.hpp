// The seam between a worker and its I/O driver (DESIGN.md "I/O"): the scheduler sees I/O
// through this class and nothing else.
//
// What the scheduler asks of a driver (one per worker, created by make_io_driver()):
//   park(ms)         sleep until I/O completes, unpark() is called, or ms pass (-1: no limit;
//                    0: just poll); deliver what completed, each by wake()-ing its task
//   unpark()         from any thread: end a park() now (or make the next one return at once)
//   has_registrations()  whether poll (park(0)) can find anything; the loop's maintenance asks
//                    every tick, so it is a plain load, not a virtual call
//   cancel_waiters() / has_waiters() / take_waiters()   the shutdown protocol's three steps
//                    (runtime_core.cpp) for the tasks waiting on this driver's I/O
// Registration (the other half of "register/deregister") belongs to the driver's own handle
// type, which io/ uses and the scheduler never sees: IoSource in the epoll driver.
//
// How a driver plugs in: a folder io/driver/<name>/ (chosen by -DWEFT_IO_DRIVER=<name>, and
// linked into weft::scheduler) that provides
//   1. src/: a class derived from IoDriver and `make_io_driver()` returning it;
//   2. include/weft/detail/io_source.hpp: the handle (IoSource: open(fd), open_on(fd, worker),
//      worker_count(), close()) and include/weft/detail/io_operation.hpp: the operation contract that io/net
//      calls, for any operation `Op` of io/net/include/weft/net/detail/ops.hpp:
//        try_now(IoSource*, Op&)    complete `op` now if that needs no waiting (nullopt if not;
//                                   the source may be null: nothing registered yet)
//        complete(registrar, op, yield_first)   a Task completing it, waiting as needed
//        ready(IoSource&, Interest) an awaitable: resumes once the fd may be ready
//      An Op is plain data (fd, buffers) with attempt() (one non-blocking syscall: its result
//      or -errno) and finish(result) (the value; nullopt to go on, e.g. after a partial
//      write; or it throws). A readiness driver (epoll) loops attempt() and waits for
//      readiness; a completion driver (io_uring) submits the same operation from the Op's
//      fields (one submission per Op type) and hands the completion's result to finish(),
//      or, for an Op it has no native submission for, polls then calls attempt().
// Neither the scheduler nor sync/ nor the socket types' public API change with the driver.
#pragma once

#include <memory>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/task_header.hpp>

namespace weft::detail {

class IoDriver {
public:
    virtual ~IoDriver() = default;
    IoDriver(const IoDriver&) = delete;
    IoDriver& operator=(const IoDriver&) = delete;

    // On the worker's thread. Returns how many I/O events it delivered.
    virtual int park(int timeout_ms) noexcept = 0;
    // Any thread.
    virtual void unpark() noexcept = 0;
    bool has_registrations() const noexcept { return registrations_.load(memory_order_relaxed) != 0; }
    // Metrics (any thread): the sources registered now.
    std::size_t registration_count() const noexcept { return registrations_.load(memory_order_relaxed); }

    // Shutdown protocol. Draining: cancel every task waiting on I/O here (it keeps its
    // registration until it resumes); whether any task waits here.
    virtual void cancel_waiters() noexcept = 0;
    virtual bool has_waiters() noexcept = 0;
    // Stopping (no worker runs): the wakers of the tasks still waiting here, forgotten by the
    // driver, so that the runtime abandons those tasks like queued ones.
    virtual std::vector<Waker> take_waiters() = 0;

protected:
    IoDriver() = default;
    // The driver counts its registrations (or operations in flight) here.
    Atomic<std::size_t> registrations_{0};
};

// Defined by the driver linked in (io/driver/<WEFT_IO_DRIVER>/): one per worker. Throws
// weft::Error if the kernel refuses (epoll_create1, eventfd).
std::unique_ptr<IoDriver> make_io_driver();

}  // namespace weft::detail
