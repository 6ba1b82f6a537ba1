#include "parker.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <weft/error.hpp>

namespace weft::detail {

Parker::Parker() {
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    event_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epoll_fd_ < 0 || event_fd_ < 0) {
        int err = errno;
        if (epoll_fd_ >= 0) ::close(epoll_fd_);
        if (event_fd_ >= 0) ::close(event_fd_);
        throw Error(std::string("weft: cannot create a worker's epoll/eventfd: ") + std::strerror(err));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = 0;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev) != 0) {
        int err = errno;
        ::close(epoll_fd_);
        ::close(event_fd_);
        throw Error(std::string("weft: epoll_ctl on a worker's eventfd failed: ") + std::strerror(err));
    }
}

Parker::~Parker() {
    ::close(event_fd_);
    ::close(epoll_fd_);
}

void Parker::wait(int timeout_ms) noexcept {
    epoll_event ev{};
    int n = ::epoll_wait(epoll_fd_, &ev, 1, timeout_ms);
    if (n > 0) {
        std::uint64_t count = 0;
        [[maybe_unused]] ssize_t r = ::read(event_fd_, &count, sizeof count);  // reset; EAGAIN is fine
    }
}

void Parker::unpark() noexcept {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(event_fd_, &one, sizeof one);
}

}  // namespace weft::detail
