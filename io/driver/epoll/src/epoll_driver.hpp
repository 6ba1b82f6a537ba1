// The epoll driver: a worker's epoll instance, the eventfd that unparks it, and the I/O
// sources registered with it (edge-triggered readiness; io_source.hpp has the I/O pattern).
// Parking a worker is waiting here (DESIGN.md "Park"); the scheduler sees it only as an
// IoDriver (io_driver.hpp).
//
// Freeing a source safely: epoll may hand back a pointer to a source that another
// thread is closing. close() therefore only deregisters (EPOLL_CTL_DEL) and pushes the
// source on `retired_`; the driver frees retired sources before its next epoll_wait,
// when no event from before the deregistration can still be in hand.
#pragma once

#include <mutex>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/io_driver.hpp>
#include <weft/detail/io_source.hpp>

namespace weft::detail {

class EpollDriver final : public IoDriver {
public:
    EpollDriver();
    ~EpollDriver() override;  // orphans every source still registered

    // The driver of the worker `worker` of the running runtime (the current worker's when
    // `worker` is empty); UsageError outside a weft task.
    static EpollDriver& of_worker(const unsigned* worker = nullptr);

    void add(IoSource* source);               // any thread (the opener's worker in practice)
    void retire(IoSource* source) noexcept;   // any thread: after EPOLL_CTL_DEL

    int park(int timeout_ms) noexcept override;
    void unpark() noexcept override;
    void cancel_waiters() noexcept override;
    bool has_waiters() noexcept override;
    std::vector<Waker> take_waiters() override;

private:
    void free_retired() noexcept;

    int epoll_fd_ = -1;
    int event_fd_ = -1;
    std::mutex sources_mutex_;      // registration list: taken per connection, not per I/O
    IoSource* registered_ = nullptr;
    Atomic<IoSource*> retired_{nullptr};
};

}  // namespace weft::detail
