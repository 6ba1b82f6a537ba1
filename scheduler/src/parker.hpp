// Where an idle worker sleeps: epoll_wait on the worker's own epoll instance, woken by
// an eventfd. The I/O reactor and timers will share this wait (DESIGN.md "Park").
#pragma once

namespace weft::detail {

class Parker {
public:
    Parker();
    ~Parker();
    Parker(const Parker&) = delete;
    Parker& operator=(const Parker&) = delete;

    // Sleeps until unpark() (possibly an earlier, already consumed one) or the timeout
    // (-1: none). Spurious returns are allowed; callers re-check their condition.
    void wait(int timeout_ms) noexcept;
    void unpark() noexcept;

private:
    int epoll_fd_ = -1;
    int event_fd_ = -1;
};

}  // namespace weft::detail
