#include <weft/net/detail/accept.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <weft/net/detail/io_awaiter.hpp>
#include <weft/net/detail/ops.hpp>
#include <weft/sleep.hpp>

namespace weft::net::detail {

Task<int> accept_fd(Descriptor& listener, weft::detail::Atomic<std::uint64_t>& backoffs) {
    using namespace std::chrono_literals;
    auto pause = 5ms;
    int pauses = 0;
    int shortage = 0;
    Clock::time_point paused_at{};
    for (;;) {
        int fd = co_await IoAwaiter<AcceptOp>(listener, AcceptOp{listener.fd()});
        if (fd >= 0) {
            if (pauses > 0) {  // logged now that descriptors are free again (see accept.hpp)
                auto paused_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now() - paused_at).count();
                spdlog::warn("weft::net: accept on fd {} paused {} time(s) over {} ms: {}; serving again",
                             listener.fd(), pauses, paused_ms, std::strerror(shortage));
            }
            co_return fd;
        }
        int err = -fd;
        if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) continue;  // that connection is gone
        if (pauses++ == 0) paused_at = now();
        shortage = err;
        backoffs.fetch_add(1, weft::detail::memory_order_relaxed);
        co_await weft::sleep(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(500));
    }
}

}  // namespace weft::net::detail
