#include <weft/net/detail/accept.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <weft/io_error.hpp>
#include <weft/net/detail/io_awaiter.hpp>
#include <weft/net/detail/ops.hpp>
#include <weft/sleep.hpp>

namespace weft::net::detail {

namespace {

bool is_resource_shortage(int err) noexcept {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

// accept(2): these report a problem with the connection being accepted (or the network),
// not with the listener. Treat them like EAGAIN: take the next one.
bool is_connection_gone(int err) noexcept {
    switch (err) {
        case ECONNABORTED:
        case EPROTO:
        case ENETDOWN:
        case ENOPROTOOPT:
        case EHOSTDOWN:
        case ENONET:
        case EHOSTUNREACH:
        case EOPNOTSUPP:
        case ENETUNREACH:
        case EPERM:  // a firewall rule refused it
            return true;
        default:
            return false;
    }
}

}  // namespace

Task<int> accept_fd(Descriptor& listener, weft::detail::Atomic<std::uint64_t>& backoffs) {
    using namespace std::chrono_literals;
    auto pause = 5ms;
    for (;;) {
        int failure = 0;
        try {
            co_return co_await IoAwaiter<AcceptOp>(listener, AcceptOp{listener.fd()});
        } catch (const IoError& e) {
            failure = e.code();
            if (!is_resource_shortage(failure) && !is_connection_gone(failure)) throw;
        }
        if (is_connection_gone(failure)) continue;
        if (pause == 5ms) {
            spdlog::warn("weft::net: accept on fd {}: {}; pausing accepts until descriptors free up",
                         listener.fd(), std::strerror(failure));
        }
        backoffs.fetch_add(1, weft::detail::memory_order_relaxed);
        co_await weft::sleep(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(500));
    }
}

}  // namespace weft::net::detail
