#include <weft/detail/io_source.hpp>

#include <sys/epoll.h>

#include <thread>

#include <weft/detail/context.hpp>
#include <weft/detail/task_trace.hpp>
#include <weft/error.hpp>

#include "epoll_driver.hpp"
#include "runtime_core.hpp"
#include "worker.hpp"

namespace weft::detail {

IoSource* IoSource::open(int fd) {
    EpollDriver& driver = EpollDriver::of_worker();
    auto* source = new IoSource();
    source->fd_ = fd;
    driver.add(source);  // on failure the driver retires (frees) it and throws
    return source;
}

IoSource* IoSource::open_on(int fd, unsigned worker) {
    EpollDriver& driver = EpollDriver::of_worker(&worker);
    auto* source = new IoSource();
    source->fd_ = fd;
    driver.add(source);  // EpollDriver::add may be called from any thread
    return source;
}

unsigned IoSource::worker_count() {
    Worker* current = tls_context.worker;
    if (!current) throw UsageError("weft I/O used outside a weft task");
    return current->core().worker_count();
}

void IoSource::close() noexcept {
    lock();
    EpollDriver* driver = driver_;
    unlock();
    if (driver) {
        driver->retire(this);
    } else {
        delete this;  // the driver is gone: nothing can deliver events any more
    }
}

void IoSource::orphan() noexcept {
    lock();
    driver_ = nullptr;
    unlock();
}

void IoSource::take_waiters(std::vector<Waker>& out) {
    lock();
    if (reader_waiting_) {
        reader_waiting_ = false;
        out.push_back(reader_);
    }
    if (writer_waiting_) {
        writer_waiting_ = false;
        out.push_back(writer_);
    }
    unlock();
}

void IoSource::cancel_waiters() noexcept {
    lock();
    if (reader_waiting_) request_shutdown_cancel(reader_.task);
    if (writer_waiting_) request_shutdown_cancel(writer_.task);
    unlock();
}

bool IoSource::has_waiters() noexcept {
    lock();
    bool any = reader_waiting_ || writer_waiting_;
    unlock();
    return any;
}

void IoSource::lock() noexcept {
    while (lock_.exchange(true, memory_order_acquire)) {
        while (lock_.load(memory_order_relaxed)) std::this_thread::yield();
    }
}

void IoSource::clear_ready(std::uint64_t seen, Interest interest) noexcept {
    // Only if no event arrived since `seen`: otherwise the edge it reported stays.
    readiness_.compare_exchange_strong(seen, seen & ~mask(interest), memory_order_acq_rel, memory_order_relaxed);
}

void IoSource::on_event(std::uint32_t events) noexcept {
    std::uint64_t bits = 0;
    if (events & EPOLLIN) bits |= kReadable;
    if (events & EPOLLRDHUP) bits |= kReadable | kReadClosed;  // sticky: see io_source.hpp
    if (events & EPOLLOUT) bits |= kWritable;
    if (events & (EPOLLHUP | EPOLLERR)) bits |= kHangup | kReadable | kWritable;
    std::uint64_t current = readiness_.load(memory_order_relaxed);
    while (!readiness_.compare_exchange_weak(current, (current | bits) + kEventOne, memory_order_acq_rel,
                                             memory_order_relaxed)) {
    }
    lock();
    if ((bits & kReadable) && reader_waiting_) {
        reader_waiting_ = false;
        wake(reader_);
    }
    if ((bits & kWritable) && writer_waiting_) {
        writer_waiting_ = false;
        wake(writer_);
    }
    unlock();
}

bool IoSource::ReadyAwaiter::await_suspend(std::coroutine_handle<> awaiting) {
    TaskHeader* self = current_task_or_throw("weft I/O");
    if (cancel_pending(self)) return false;
    source_.lock();
    if (is_ready(source_.readiness(), interest_)) {
        source_.unlock();
        return false;
    }
    note_await(self, AwaitKind::socket, "weft I/O", &source_,
               (static_cast<std::uint64_t>(source_.fd()) << 1) | (interest_ == Interest::read ? 0 : 1));
    Waker waker = prepare_cancellable_suspend(self, awaiting);
    if (interest_ == Interest::read) {
        if (source_.reader_waiting_) {
            source_.unlock();
            cancellable_suspend_withdrawn();
            throw UsageError("two tasks are reading the same socket at once");
        }
        source_.reader_ = waker;
        source_.reader_waiting_ = true;
    } else {
        if (source_.writer_waiting_) {
            source_.unlock();
            cancellable_suspend_withdrawn();
            throw UsageError("two tasks are writing the same socket at once");
        }
        source_.writer_ = waker;
        source_.writer_waiting_ = true;
    }
    source_.unlock();
    return true;
}

void IoSource::ReadyAwaiter::await_resume() {
    TaskHeader* self = tls_context.task;
    source_.lock();
    bool& waiting = interest_ == Interest::read ? source_.reader_waiting_ : source_.writer_waiting_;
    bool withdrawn = false;
    // Still registered and it is ours: we were resumed by cancellation, not readiness.
    if (waiting && self && (interest_ == Interest::read ? source_.reader_.task : source_.writer_.task) == self) {
        waiting = false;
        withdrawn = true;
    }
    source_.unlock();
    if (withdrawn || (self && cancel_pending(self))) throw_if_cancelled(self);
    // Otherwise: readiness (or a spurious resume): the caller retries its syscall.
}

}  // namespace weft::detail
