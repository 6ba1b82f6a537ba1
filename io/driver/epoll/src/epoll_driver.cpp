#include "epoll_driver.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <weft/detail/context.hpp>
#include <weft/error.hpp>

#include "runtime_core.hpp"
#include "worker.hpp"

namespace weft::detail {

namespace {
[[noreturn]] void throw_errno(const char* what, int err) {
    throw Error(std::string("weft: ") + what + ": " + std::strerror(err));
}
}  // namespace

std::unique_ptr<IoDriver> make_io_driver() { return std::make_unique<EpollDriver>(); }

EpollDriver& EpollDriver::of_worker(const unsigned* worker) {
    Worker* current = tls_context.worker;
    if (!current) throw UsageError("weft I/O used outside a weft task");
    if (!worker) return static_cast<EpollDriver&>(current->io_driver());
    if (*worker >= current->core().worker_count()) throw UsageError("IoSource::open_on: no such worker");
    // (Every worker's driver is an EpollDriver: make_io_driver() above made it.)
    return static_cast<EpollDriver&>(current->core().worker(*worker).io_driver());
}

EpollDriver::EpollDriver() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) throw_errno("epoll_create1 for a worker", errno);
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (event_fd_ < 0) {
        int err = errno;
        ::close(epoll_fd_);
        throw_errno("eventfd for a worker", err);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // null: the unpark eventfd
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
        int err = errno;
        ::close(epoll_fd_);
        ::close(event_fd_);
        throw_errno("epoll_ctl on a worker's eventfd", err);
    }
}

EpollDriver::~EpollDriver() {
    free_retired();
    std::lock_guard lock(sources_mutex_);
    for (IoSource* source = registered_; source;) {
        IoSource* next = source->next_;
        source->orphan();
        source = next;
    }
    registered_ = nullptr;
    ::close(event_fd_);
    ::close(epoll_fd_);
}

void EpollDriver::add(IoSource* source) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = source;
    {
        std::lock_guard lock(sources_mutex_);
        source->prev_ = nullptr;
        source->next_ = registered_;
        if (registered_) registered_->prev_ = source;
        registered_ = source;
        registrations_.fetch_add(1, memory_order_relaxed);
    }
    source->driver_ = this;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, source->fd(), &ev) != 0) {
        int err = errno;
        retire(source);
        throw_errno("epoll_ctl(EPOLL_CTL_ADD)", err);
    }
}

void EpollDriver::retire(IoSource* source) noexcept {
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, source->fd(), nullptr);  // may fail if never added
    {
        std::lock_guard lock(sources_mutex_);
        if (source->prev_) source->prev_->next_ = source->next_;
        else registered_ = source->next_;
        if (source->next_) source->next_->prev_ = source->prev_;
        registrations_.fetch_sub(1, memory_order_relaxed);
    }
    IoSource* head = retired_.load(memory_order_relaxed);
    do {
        source->next_ = head;
    } while (!retired_.compare_exchange_weak(head, source, memory_order_release, memory_order_relaxed));
}

void EpollDriver::free_retired() noexcept {
    IoSource* source = retired_.exchange(nullptr, memory_order_acquire);
    while (source) {
        IoSource* next = source->next_;
        delete source;
        source = next;
    }
}

int EpollDriver::park(int timeout_ms) noexcept {
    free_retired();  // no event from before their EPOLL_CTL_DEL is in hand now
    epoll_event events[128];
    int n = ::epoll_wait(epoll_fd_, events, 128, timeout_ms);
    int sources = 0;
    for (int i = 0; i < n; ++i) {
        if (events[i].data.ptr == nullptr) {
            std::uint64_t count = 0;
            [[maybe_unused]] ssize_t r = ::read(event_fd_, &count, sizeof count);
            continue;
        }
        static_cast<IoSource*>(events[i].data.ptr)->on_event(events[i].events);
        ++sources;
    }
    return sources;
}

std::vector<Waker> EpollDriver::take_waiters() {
    std::vector<Waker> waiters;
    std::lock_guard lock(sources_mutex_);
    for (IoSource* source = registered_; source; source = source->next_) source->take_waiters(waiters);
    return waiters;
}

void EpollDriver::cancel_waiters() noexcept {
    std::lock_guard lock(sources_mutex_);
    for (IoSource* source = registered_; source; source = source->next_) source->cancel_waiters();
}

bool EpollDriver::has_waiters() noexcept {
    std::lock_guard lock(sources_mutex_);
    for (IoSource* source = registered_; source; source = source->next_)
        if (source->has_waiters()) return true;
    return false;
}

void EpollDriver::unpark() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(event_fd_, &one, sizeof one);
}

}  // namespace weft::detail
