// One file descriptor registered with a worker's epoll driver (edge-triggered): the epoll
// driver's registration handle (io_driver.hpp says what every driver provides).
//
// The I/O pattern every socket operation follows (see weft::net):
//   for (;;) {
//       auto seen = source->readiness();              // snapshot: ready bits + event count
//       ssize_t n = ::read(source->fd(), buf, len);
//       if (n >= 0) return n;
//       if (errno != EAGAIN) throw ...;
//       source->clear_ready(seen, Interest::read);    // no-op if an event came meanwhile
//       co_await source->ready(Interest::read);       // cancellation point
//   }
// Readiness is tracked per source with an event count, so an edge that arrives between
// the syscall and clear_ready() is never lost. "Peer closed its side" (EPOLLRDHUP) and
// "hung up or failed" (EPOLLHUP/EPOLLERR) are sticky bits that clear_ready() never clears
// (Tokio's read-closed bit): the event that reports the peer's last bytes may report its
// FIN too, and the short read that takes those bytes must not forget the FIN, or the next
// read would wait for an edge that never comes. The driver wakes at most one reader and
// one writer per source, under the source's own small lock; a cancelled waiter withdraws
// under the same lock, so the driver never touches a task that has moved on.
// The source is registered with the driver of the worker that opens it; readiness is
// delivered there and the task resumes on that loop.
#pragma once

#include <coroutine>
#include <cstdint>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/task_header.hpp>

namespace weft::detail {

class EpollDriver;

enum class Interest : std::uint8_t { read = 1, write = 2 };

class IoSource {
public:
    static constexpr std::uint64_t kReadable = 1;
    static constexpr std::uint64_t kWritable = 2;
    // Sticky bits: hung up or failed (reads and writes will not block); the peer shut down
    // its writing side (reads will not block: they return its last bytes, then 0).
    static constexpr std::uint64_t kHangup = 4;
    static constexpr std::uint64_t kReadClosed = 8;
    static constexpr std::uint64_t kEventOne = 1u << 8;

    // Registers `fd` (already non-blocking) with the current worker's driver. Throws
    // UsageError outside a weft task, weft::Error if epoll_ctl fails.
    static IoSource* open(int fd);
    // The same, with worker `worker` (< worker_count()) of the current runtime: per-core
    // servers spread their listeners over the loops this way. Its events wake tasks there.
    static IoSource* open_on(int fd, unsigned worker);
    // How many workers the current runtime has; UsageError outside a weft task.
    static unsigned worker_count();
    // Deregisters and frees the source (later, on its driver's thread). Does not close fd.
    void close() noexcept;

    int fd() const noexcept { return fd_; }
    std::uint64_t readiness() const noexcept { return readiness_.load(memory_order_acquire); }
    static bool is_ready(std::uint64_t readiness, Interest interest) noexcept {
        return (readiness & ready_bits(interest)) != 0;
    }
    // Clears `interest`'s edge bit if no event arrived since `seen`; never the sticky bits.
    void clear_ready(std::uint64_t seen, Interest interest) noexcept;

    class ReadyAwaiter {
    public:
        ReadyAwaiter(IoSource& source, Interest interest) noexcept : source_(source), interest_(interest) {}
        bool await_ready() const noexcept { return is_ready(source_.readiness(), interest_); }
        bool await_suspend(std::coroutine_handle<> awaiting);
        void await_resume();

    private:
        IoSource& source_;
        Interest interest_;
    };
    /// Resumes once the fd may be ready for `interest`. A cancellation point.
    ReadyAwaiter ready(Interest interest) noexcept { return ReadyAwaiter(*this, interest); }

    // Driver side.
    void on_event(std::uint32_t epoll_events) noexcept;
    void orphan() noexcept;  // its driver is going away: close() frees directly
    // Runtime shutdown (no worker runs): appends the wakers of the tasks waiting here, and
    // forgets them, so that the runtime can abandon those tasks like queued ones.
    void take_waiters(std::vector<Waker>& out);
    // Runtime draining: cancels the tasks waiting here (under the source's lock, which a
    // waiter takes before it moves on, so they are alive); whether any task waits here.
    void cancel_waiters() noexcept;
    bool has_waiters() noexcept;

private:
    friend class EpollDriver;
    static std::uint64_t mask(Interest interest) noexcept { return interest == Interest::read ? kReadable : kWritable; }
    static std::uint64_t ready_bits(Interest interest) noexcept {
        return interest == Interest::read ? kReadable | kReadClosed | kHangup : kWritable | kHangup;
    }
    void lock() noexcept;
    void unlock() noexcept { lock_.store(false, memory_order_release); }

    int fd_ = -1;
    EpollDriver* driver_ = nullptr;
    Atomic<std::uint64_t> readiness_{kReadable | kWritable};  // optimistic: try the syscall first
    Atomic<bool> lock_{false};
    bool reader_waiting_ = false;
    bool writer_waiting_ = false;
    Waker reader_;
    Waker writer_;
    IoSource* next_ = nullptr;  // the driver's lists (registered / retired)
    IoSource* prev_ = nullptr;
};

}  // namespace weft::detail
