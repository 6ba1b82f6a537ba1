// An owned, non-blocking file descriptor and (once something waits on it) its IoSource.
//
// Registration is lazy: the descriptor joins the reactor of the worker whose task first
// has to wait on it (DESIGN.md "I/O": a socket is registered with the loop that first
// awaits it), or of the worker named by pin_to_worker(). So sockets may be created
// anywhere (in main(), before the runtime) and I/O that never blocks costs no epoll_ctl.
//
// Contract: one reading and one writing task at a time. close() (and the destructor)
// must not run while another task is suspended on this descriptor: cancel that task and
// await it first (FOOTGUNS). An operation started after close() throws UsageError.
#pragma once

#include <mutex>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/io_source.hpp>

namespace weft::net::detail {

using weft::detail::Interest;
using weft::detail::IoSource;

class Descriptor {
public:
    Descriptor() noexcept = default;
    explicit Descriptor(int fd) noexcept : fd_(fd) {}  // takes ownership; fd must be O_NONBLOCK
    Descriptor(Descriptor&& other) noexcept
        : fd_(std::exchange(other.fd_, -1)),
          pinned_worker_(other.pinned_worker_),
          source_(other.source_.exchange(nullptr, weft::detail::memory_order_relaxed)) {}
    Descriptor& operator=(Descriptor&& other) noexcept {
        if (this != &other) {
            close();
            fd_ = std::exchange(other.fd_, -1);
            pinned_worker_ = other.pinned_worker_;
            source_.store(other.source_.exchange(nullptr, weft::detail::memory_order_relaxed),
                          weft::detail::memory_order_relaxed);
        }
        return *this;
    }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() { close(); }

    int fd() const noexcept { return fd_; }
    bool is_open() const noexcept { return fd_ >= 0; }
    /// Throws UsageError("... stream is closed ...") unless open: an operation on a stream
    /// this side closed (or moved from) must not reach the kernel with a stale fd number,
    /// which may name another file by now.
    void require_open() const {
        if (fd_ < 0) [[unlikely]]
            throw_closed();
    }

    /// The registered source, or nullptr if nothing has waited on this descriptor yet.
    IoSource* registered() const noexcept { return source_.load(weft::detail::memory_order_acquire); }
    /// The source, registering it now if needed (in a weft task; throws like IoSource::open).
    IoSource* source() {
        IoSource* source = registered();
        return source ? source : register_source();
    }
    /// Registration goes to worker `worker`'s reactor instead of the current one.
    void pin_to_worker(unsigned worker) noexcept { pinned_worker_ = static_cast<int>(worker); }

    /// Deregisters, then closes the fd. Idempotent.
    void close() noexcept;

private:
    IoSource* register_source();
    [[noreturn]] static void throw_closed();

    int fd_ = -1;
    int pinned_worker_ = -1;
    weft::detail::Atomic<IoSource*> source_{nullptr};
    std::mutex register_mutex_;  // only the first wait takes it
};

}  // namespace weft::net::detail
