#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <exception>
#include <vector>

#include <weft/io_error.hpp>
#include <weft/net/detail/accept.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/resolve.hpp>
#include <weft/timeout.hpp>

namespace weft::net {

// ---- TcpListener ----------------------------------------------------------------------

TcpListener TcpListener::bind(const SocketAddress& address, ListenOptions options) {
    if (!address.is_ip()) throw IoError(EAFNOSUPPORT, "TcpListener::bind: not an IP address: " + address.to_string());
    TcpListener listener(detail::open_socket(address.family(), SOCK_STREAM, "TcpListener::bind: socket"));
    int fd = listener.descriptor_.fd();
    if (options.reuse_address) detail::set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "TcpListener::bind: SO_REUSEADDR");
    if (options.reuse_port) detail::set_option(fd, SOL_SOCKET, SO_REUSEPORT, 1, "TcpListener::bind: SO_REUSEPORT");
    if (address.family() == AF_INET6)
        detail::set_option(fd, IPPROTO_IPV6, IPV6_V6ONLY, options.ipv6_only ? 1 : 0, "TcpListener::bind: IPV6_V6ONLY");
    if (::bind(fd, address.native(), address.native_size()) != 0)
        throw_io_error(errno, "TcpListener::bind " + address.to_string());
    if (::listen(fd, options.backlog) != 0)
        throw_io_error(errno, "TcpListener::bind: listen on " + address.to_string());
    return listener;
}

Task<TcpStream> TcpListener::accept() { co_return TcpStream(co_await detail::accept_fd(descriptor_, backoffs_)); }

// ---- TcpStream --------------------------------------------------------------------------

Task<TcpStream> TcpStream::connect_once(SocketAddress peer) {
    TcpStream stream(detail::open_socket(peer.family(), SOCK_STREAM, "TcpStream::connect: socket"));
    int fd = stream.native_handle();
    int rc;
    do {
        rc = ::connect(fd, peer.native(), peer.native_size());
    } while (rc != 0 && errno == EINTR);
    if (rc != 0 && errno != EINPROGRESS) throw_io_error(errno, "TcpStream::connect to " + peer.to_string());
    if (rc != 0) co_await stream.wait_connected(peer);
    co_return stream;
}

Task<TcpStream> TcpStream::connect(SocketAddress peer, std::chrono::milliseconds timeout) {
    if (!peer.is_ip()) throw IoError(EAFNOSUPPORT, "TcpStream::connect: not an IP address: " + peer.to_string());
    if (timeout.count() <= 0) co_return co_await connect_once(peer);
    auto deadline = weft::timeout(timeout);
    try {
        co_return co_await connect_once(peer);
    } catch (const TimeoutError&) {
        if (!deadline.expired()) throw;  // an enclosing timeout scope's
    }
    throw TimedOut(ETIMEDOUT, "TcpStream::connect to " + peer.to_string() + " (no answer within " +
                                  std::to_string(timeout.count()) + " ms)");
}

namespace {

// Host names: getaddrinfo (on the blocking pool), then each address in its order until one
// connects; if none does, the first failure is rethrown.
Task<TcpStream> connect_by_name(std::string host, std::uint16_t port) {
    std::vector<SocketAddress> found = co_await weft::resolve(host, port);
    std::exception_ptr first_failure;
    for (const SocketAddress& address : found) {
        try {
            co_return co_await TcpStream::connect(address);
        } catch (const IoError&) {
            if (!first_failure) first_failure = std::current_exception();
        }
    }
    if (!first_failure) throw IoError(EADDRNOTAVAIL, "TcpStream::connect: no address for '" + host + "'");
    std::rethrow_exception(first_failure);
}

}  // namespace

Task<TcpStream> TcpStream::connect(std::string host, std::uint16_t port, std::chrono::milliseconds timeout) {
    if (auto address = SocketAddress::try_ip(host, port)) co_return co_await connect(*address, timeout);
    if (timeout.count() <= 0) co_return co_await connect_by_name(host, port);
    auto deadline = weft::timeout(timeout);  // covers the lookup and every attempt
    try {
        co_return co_await connect_by_name(host, port);
    } catch (const TimeoutError&) {
        if (!deadline.expired()) throw;
    }
    throw TimedOut(ETIMEDOUT, "TcpStream::connect to " + host + ":" + std::to_string(port) + " (no answer within " +
                                  std::to_string(timeout.count()) + " ms)");
}

void TcpStream::set_nodelay(bool on) {
    detail::set_option(native_handle(), IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0, "TcpStream::set_nodelay");
}

bool TcpStream::nodelay() const {
    return detail::get_option(native_handle(), IPPROTO_TCP, TCP_NODELAY, "TcpStream::nodelay") != 0;
}

void TcpStream::set_linger(bool on, int seconds) {
    linger value{on ? 1 : 0, seconds};
    if (::setsockopt(native_handle(), SOL_SOCKET, SO_LINGER, &value, sizeof value) != 0)
        throw_io_error(errno, "TcpStream::set_linger");
}

}  // namespace weft::net
