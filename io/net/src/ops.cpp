#include <weft/net/detail/ops.hpp>

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <weft/io_error.hpp>

namespace weft::net::detail {

namespace {

// One attempt of `syscall` in io_source.hpp's pattern. Returns its result (>= 0), or
// -EAGAIN after clearing readiness, or -errno for a failure the caller reports. `seen` is
// the readiness snapshot taken before the syscall (for clear_after_short()).
template <class Syscall>
ssize_t attempt(IoSource* source, Interest interest, std::uint64_t& seen, Syscall syscall) {
    for (;;) {
        seen = source ? source->readiness() : 0;
        ssize_t n = syscall();
        if (n >= 0) return n;
        int err = errno;
        if (err == EINTR) continue;
        if (err == EAGAIN || err == EWOULDBLOCK) {
            if (source) source->clear_ready(seen, interest);
            return -EAGAIN;
        }
        return -err;
    }
}

template <class Syscall>
ssize_t attempt(IoSource* source, Interest interest, Syscall syscall) {
    std::uint64_t seen;
    return attempt(source, interest, seen, syscall);
}

// Readiness says the last attempt found the socket drained (or full) and no event has come
// since: the syscall would fail with EAGAIN, so wait without making it.
bool known_not_ready(IoSource* source, Interest interest) noexcept {
    return source && !IoSource::is_ready(source->readiness(), interest);
}

// A byte stream that transferred less than asked is drained (read) or full (write) now;
// any later change comes with a new edge. So readiness can be cleared as on EAGAIN, which
// saves the EAGAIN syscall before the next wait (as Tokio does). clear_ready() keeps the
// bit if an event arrived since `seen`.
void clear_after_short(IoSource* source, Interest interest, std::uint64_t seen) noexcept {
    if (source) source->clear_ready(seen, interest);
}

// SIGPIPE would kill the process when writing to a pipe whose reader is gone; blocked on
// this thread it stays pending (harmlessly) and write() reports EPIPE instead. Sockets
// use MSG_NOSIGNAL and never need this.
void block_sigpipe_on_this_thread() noexcept {
    thread_local bool blocked = false;
    if (blocked) return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    blocked = true;
}

ssize_t read_once(int fd, void* data, std::size_t size, int flags, FdKind kind) {
    return kind == FdKind::socket ? ::recv(fd, data, size, flags) : ::read(fd, data, size);
}

ssize_t write_once(int fd, const void* data, std::size_t size, FdKind kind) {
    if (kind == FdKind::socket) return ::send(fd, data, size, MSG_NOSIGNAL);
    block_sigpipe_on_this_thread();
    return ::write(fd, data, size);
}

}  // namespace

std::optional<std::size_t> ReadSomeOp::step(IoSource* source) {
    if (known_not_ready(source, interest)) return std::nullopt;
    std::uint64_t seen;
    ssize_t n = attempt(source, interest, seen, [&] { return read_once(fd, data, size, flags, kind); });
    if (n > 0) {
        if (static_cast<std::size_t>(n) < size && !(flags & MSG_PEEK)) clear_after_short(source, interest, seen);
        return static_cast<std::size_t>(n);
    }
    if (n == 0) return std::size_t{0};
    if (n == -EAGAIN) return std::nullopt;
    throw_io_error(static_cast<int>(-n), "weft::net: read");
}

std::optional<std::size_t> WriteSomeOp::step(IoSource* source) {
    if (known_not_ready(source, interest)) return std::nullopt;
    std::uint64_t seen;
    ssize_t n = attempt(source, interest, seen, [&] { return write_once(fd, data, size, kind); });
    if (n >= 0) {
        if (static_cast<std::size_t>(n) < size) clear_after_short(source, interest, seen);
        return static_cast<std::size_t>(n);
    }
    if (n == -EAGAIN) return std::nullopt;
    throw_io_error(static_cast<int>(-n), "weft::net: write");
}

std::optional<std::size_t> ReadExactOp::step(IoSource* source) {
    while (done < size) {
        if (known_not_ready(source, interest)) return std::nullopt;
        std::uint64_t seen;
        ssize_t n = attempt(source, interest, seen, [&] { return read_once(fd, data + done, size - done, 0, kind); });
        if (n == -EAGAIN) return std::nullopt;
        if (n < 0) throw_io_error(static_cast<int>(-n), "weft::net: read_exact");
        if (n == 0) {
            throw UnexpectedEof("weft::net: read_exact: the stream ended after " + std::to_string(done) + " of " +
                                std::to_string(size) + " bytes");
        }
        if (static_cast<std::size_t>(n) < size - done) clear_after_short(source, interest, seen);
        done += static_cast<std::size_t>(n);
    }
    return done;
}

std::optional<std::size_t> WriteAllOp::step(IoSource* source) {
    while (done < size) {
        if (known_not_ready(source, interest)) return std::nullopt;
        std::uint64_t seen;
        ssize_t n = attempt(source, interest, seen, [&] { return write_once(fd, data + done, size - done, kind); });
        if (n == -EAGAIN) return std::nullopt;
        if (n < 0) throw_io_error(static_cast<int>(-n), "weft::net: write_all");
        if (static_cast<std::size_t>(n) < size - done) clear_after_short(source, interest, seen);
        done += static_cast<std::size_t>(n);
    }
    return done;
}

std::optional<int> AcceptOp::step(IoSource* source) {
    ssize_t n = attempt(source, interest, [&] {
        return static_cast<ssize_t>(::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    });
    if (n >= 0) return static_cast<int>(n);
    if (n == -EAGAIN) return std::nullopt;
    if (accept_retryable(static_cast<int>(-n))) return static_cast<int>(n);  // -errno: the accept loop decides
    throw_io_error(static_cast<int>(-n), "weft::net: accept");
}

bool accept_retryable(int err) noexcept {
    switch (err) {
        case EMFILE:  // out of descriptors or memory: pause, then retry
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
        case ECONNABORTED:  // accept(2): the connection died in the queue (or the network
        case EPROTO:        // is down): take the next one
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

std::optional<int> ConnectOp::step(IoSource* source) {
    // Readiness starts optimistic and registration may report a stale edge, so "writable"
    // alone proves nothing: the socket has an error, or a peer, or is still connecting.
    for (;;) {
        std::uint64_t seen = source ? source->readiness() : 0;
        int err = get_option(fd, SOL_SOCKET, SO_ERROR, "weft::net: connect");
        if (err != 0) throw_io_error(err, "weft::net: connect to " + peer.to_string());
        sockaddr_storage address;
        socklen_t size = sizeof address;
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) return 0;
        if (errno != ENOTCONN) throw_io_error(errno, "weft::net: connect to " + peer.to_string());
        if (!source) return std::nullopt;
        source->clear_ready(seen, interest);
        if (!IoSource::is_ready(source->readiness(), interest)) return std::nullopt;
        // An event arrived meanwhile: look again.
    }
}

std::optional<Datagram> RecvFromOp::step(IoSource* source) {
    Datagram result;
    sockaddr* from = result.from.native_buffer();
    socklen_t from_size = SocketAddress::capacity();
    ssize_t n = attempt(source, interest, [&] {
        from_size = SocketAddress::capacity();
        return ::recvfrom(fd, data, size, MSG_TRUNC, from, &from_size);
    });
    if (n == -EAGAIN) return std::nullopt;
    if (n < 0) throw_io_error(static_cast<int>(-n), "weft::net: recv_from");
    result.from.set_native_size(from_size);
    result.truncated = static_cast<std::size_t>(n) > size;
    result.size = result.truncated ? size : static_cast<std::size_t>(n);
    return result;
}

std::optional<std::size_t> SendToOp::step(IoSource* source) {
    ssize_t n = attempt(source, interest,
                        [&] { return ::sendto(fd, data, size, MSG_NOSIGNAL, to.native(), to.native_size()); });
    if (n >= 0) return static_cast<std::size_t>(n);
    if (n == -EAGAIN) return std::nullopt;
    throw_io_error(static_cast<int>(-n), "weft::net: send_to " + to.to_string());
}

int open_socket(int family, int type, const char* what) {
    int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_io_error(errno, what);
    return fd;
}

SocketAddress local_address_of(int fd) {
    SocketAddress address;
    socklen_t size = SocketAddress::capacity();
    if (::getsockname(fd, address.native_buffer(), &size) != 0) throw_io_error(errno, "weft::net: getsockname");
    address.set_native_size(size);
    return address;
}

SocketAddress peer_address_of(int fd) {
    SocketAddress address;
    socklen_t size = SocketAddress::capacity();
    if (::getpeername(fd, address.native_buffer(), &size) != 0) throw_io_error(errno, "weft::net: getpeername");
    address.set_native_size(size);
    return address;
}

void set_option(int fd, int level, int name, int value, const char* what) {
    if (::setsockopt(fd, level, name, &value, sizeof value) != 0) throw_io_error(errno, what);
}

int get_option(int fd, int level, int name, const char* what) {
    int value = 0;
    socklen_t size = sizeof value;
    if (::getsockopt(fd, level, name, &value, &size) != 0) throw_io_error(errno, what);
    return value;
}

void shutdown_socket(int fd, int how) {
    if (::shutdown(fd, how) != 0) throw_io_error(errno, "weft::net: shutdown");
}

}  // namespace weft::net::detail
