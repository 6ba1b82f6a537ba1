#include "orphan_reaper.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

#include <spdlog/spdlog.h>

#include "pidfd.hpp"

namespace weft::process::detail {

namespace {

class OrphanReaper {
public:
    // Leaked on purpose: the detached thread may still run while static destructors do.
    static OrphanReaper* instance() noexcept {
        static OrphanReaper* reaper = []() -> OrphanReaper* {
            try {
                return new OrphanReaper();
            } catch (const std::exception& e) {
                spdlog::error("weft::process: cannot start the orphan reaper ({}): dropped children stay zombies",
                              e.what());
                return nullptr;
            }
        }();
        return reaper;
    }

    void adopt(int pidfd) noexcept {
        {
            std::lock_guard lock(mutex_);
            ++pending_;
        }
        epoll_event event{};
        event.events = EPOLLIN;  // level-triggered: an exit is never missed
        event.data.fd = pidfd;
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, pidfd, &event) != 0) {
            spdlog::error("weft::process: the orphan reaper cannot watch a child (epoll_ctl: {}): it stays a zombie",
                          std::strerror(errno));
            ::close(pidfd);
            settle(false);
        }
    }

    std::size_t wait_idle() {
        std::unique_lock lock(mutex_);
        idle_.wait(lock, [&] { return pending_ == 0; });
        return reaped_;
    }

private:
    OrphanReaper() {
        epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
        std::thread([this] { run(); }).detach();
    }

    void run() noexcept {
        sigset_t all;  // signals are for the application's threads, never this one
        ::sigfillset(&all);
        ::pthread_sigmask(SIG_BLOCK, &all, nullptr);
        epoll_event events[64];
        for (;;) {
            int n = ::epoll_wait(epoll_fd_, events, 64, -1);
            for (int i = 0; i < n; ++i) {
                int pidfd = events[i].data.fd;
                siginfo_t info;
                int result = pidfd_try_wait(pidfd, info);
                if (result == 0 && info.si_pid == 0) continue;  // not exited after all
                ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, pidfd, nullptr);
                ::close(pidfd);
                settle(result == 0);  // ECHILD: someone else reaped it; nothing left to do
            }
        }
    }

    void settle(bool reaped) noexcept {
        std::lock_guard lock(mutex_);
        --pending_;
        if (reaped) ++reaped_;
        if (pending_ == 0) idle_.notify_all();
    }

    int epoll_fd_ = -1;
    std::mutex mutex_;
    std::condition_variable idle_;
    std::size_t pending_ = 0;  // adopted, not yet reaped
    std::size_t reaped_ = 0;
};

}  // namespace

void adopt_orphan(int pidfd) noexcept {
    if (OrphanReaper* reaper = OrphanReaper::instance()) {
        reaper->adopt(pidfd);
    } else {
        ::close(pidfd);
    }
}

std::size_t wait_orphans_reaped() {
    OrphanReaper* reaper = OrphanReaper::instance();
    return reaper ? reaper->wait_idle() : 0;
}

}  // namespace weft::process::detail
