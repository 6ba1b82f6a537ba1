// A worker's reactor: its epoll instance, the eventfd that unparks it, and the I/O
// sources registered with it. Parking a worker is waiting here (DESIGN.md "Park").
//
// The interface is small on purpose (add/retire a source, wait with a timeout, unpark),
// so that an io_uring backend can be a second file with the same shape.
//
// Freeing a source safely: epoll may hand back a pointer to a source that another
// thread is closing. close() therefore only deregisters (EPOLL_CTL_DEL) and pushes the
// source on `retired_`; the reactor frees retired sources before its next epoll_wait,
// when no event from before the deregistration can still be in hand.
#pragma once

#include <mutex>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/io_source.hpp>

namespace weft::detail {

class Reactor {
public:
    Reactor();
    ~Reactor();  // orphans every source still registered
    Reactor(const Reactor&) = delete;
    Reactor& operator=(const Reactor&) = delete;

    void add(IoSource* source);               // any thread (the opener's worker in practice)
    void retire(IoSource* source) noexcept;   // any thread: after EPOLL_CTL_DEL

    // Waits up to timeout_ms (-1: forever, 0: poll) for I/O or unpark(), dispatches the
    // I/O events (waking tasks), returns how many sources had events.
    int wait(int timeout_ms) noexcept;
    void unpark() noexcept;
    // Runtime shutdown: the wakers of every task still waiting on a source here (taken
    // from the sources). Abandon them outside: freeing a frame may close its sources.
    std::vector<Waker> take_waiters();
    // Runtime draining: cancels every task waiting on a source here (the sources keep them
    // until they resume); whether any task waits here.
    void cancel_waiters();
    bool has_waiters();
    bool has_sources() const noexcept { return registered_count_.load(memory_order_relaxed) != 0; }

private:
    void free_retired() noexcept;

    int epoll_fd_ = -1;
    int event_fd_ = -1;
    std::mutex sources_mutex_;      // registration list: taken per connection, not per I/O
    IoSource* registered_ = nullptr;
    Atomic<std::size_t> registered_count_{0};
    Atomic<IoSource*> retired_{nullptr};
};

}  // namespace weft::detail
