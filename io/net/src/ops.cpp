#include <weft/net/detail/ops.hpp>

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include <weft/error.hpp>
#include <weft/io_error.hpp>

namespace weft::net::detail {

namespace {

static_assert(kPeekFlag == MSG_PEEK);

// One syscall, EINTR retried: its result, or -errno.
template <class Syscall>
ssize_t retry_interrupted(Syscall syscall) noexcept {
    for (;;) {
        ssize_t n = syscall();
        if (n >= 0) return n;
        if (errno != EINTR) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
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

ssize_t read_once(int fd, void* data, std::size_t size, int flags, FdKind kind) noexcept {
    return retry_interrupted(
        [&] { return kind == FdKind::socket ? ::recv(fd, data, size, flags) : ::read(fd, data, size); });
}

ssize_t write_once(int fd, const void* data, std::size_t size, FdKind kind) noexcept {
    if (kind == FdKind::socket) return retry_interrupted([&] { return ::send(fd, data, size, MSG_NOSIGNAL); });
    block_sigpipe_on_this_thread();
    return retry_interrupted([&] { return ::write(fd, data, size); });
}

// A result that is neither a value nor "would block" (-EAGAIN never reaches finish()).
[[noreturn]] void fail(ssize_t result, const std::string& what) { throw_io_error(static_cast<int>(-result), what); }

}  // namespace

ssize_t ReadSomeOp::attempt() { return read_once(fd, data, size, flags, kind); }

std::optional<std::size_t> ReadSomeOp::finish(ssize_t result) {
    if (result < 0) fail(result, "weft::net: read");
    return static_cast<std::size_t>(result);
}

ssize_t WriteSomeOp::attempt() { return write_once(fd, data, size, kind); }

std::optional<std::size_t> WriteSomeOp::finish(ssize_t result) {
    if (result < 0) fail(result, "weft::net: write");
    return static_cast<std::size_t>(result);
}

ssize_t ReadExactOp::attempt() { return read_once(fd, data + done, size - done, 0, kind); }

std::optional<std::size_t> ReadExactOp::finish(ssize_t result) {
    if (result < 0) fail(result, "weft::net: read_exact");
    if (result == 0 && done < size) {
        throw UnexpectedEof("weft::net: read_exact: the stream ended after " + std::to_string(done) + " of " +
                            std::to_string(size) + " bytes");
    }
    done += static_cast<std::size_t>(result);
    if (done < size) return std::nullopt;
    return done;
}

ssize_t WriteAllOp::attempt() { return write_once(fd, data + done, size - done, kind); }

std::optional<std::size_t> WriteAllOp::finish(ssize_t result) {
    if (result < 0) fail(result, "weft::net: write_all");
    done += static_cast<std::size_t>(result);
    if (done < size) return std::nullopt;
    return done;
}

ssize_t AcceptOp::attempt() {
    return retry_interrupted(
        [&] { return static_cast<ssize_t>(::accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)); });
}

std::optional<int> AcceptOp::finish(ssize_t result) {
    if (result >= 0) return static_cast<int>(result);
    if (accept_retryable(static_cast<int>(-result)))
        return static_cast<int>(result);  // -errno: the accept loop decides
    fail(result, "weft::net: accept");
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

ssize_t ConnectOp::attempt() {
    int error = 0;
    socklen_t error_size = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_size) != 0) return -errno;
    if (error != 0) return -error;
    sockaddr_storage address;
    socklen_t size = sizeof address;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0) return 0;
    return errno == ENOTCONN ? -EAGAIN : -errno;
}

std::optional<int> ConnectOp::finish(ssize_t result) {
    if (result < 0) fail(result, "weft::net: connect to " + peer.to_string());
    return 0;
}

ssize_t RecvFromOp::attempt() {
    return retry_interrupted([&] {
        socklen_t from_size = SocketAddress::capacity();
        ssize_t n = ::recvfrom(fd, data, size, MSG_TRUNC, received.from.native_buffer(), &from_size);
        if (n >= 0) received.from.set_native_size(from_size);
        return n;
    });
}

std::optional<Datagram> RecvFromOp::finish(ssize_t result) {
    if (result < 0) fail(result, "weft::net: recv_from");
    received.truncated = static_cast<std::size_t>(result) > size;
    received.size = received.truncated ? size : static_cast<std::size_t>(result);
    return received;
}

ssize_t SendToOp::attempt() {
    // No address (UdpSocket::send): the connected peer.
    const sockaddr* address = to.native_size() != 0 ? to.native() : nullptr;
    return retry_interrupted([&] { return ::sendto(fd, data, size, MSG_NOSIGNAL, address, to.native_size()); });
}

std::optional<std::size_t> SendToOp::finish(ssize_t result) {
    if (result < 0) fail(result, to.native_size() != 0 ? "weft::net: send_to " + to.to_string() : "weft::net: send");
    return static_cast<std::size_t>(result);
}

int open_socket(int family, int type, const char* what) {
    int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw_io_error(errno, what);
    return fd;
}

// A socket never opened, closed or moved from has fd -1: the caller's mistake, as for any
// other call on it (Descriptor::require_open), not the kernel's EBADF.
namespace {
void require_socket(int fd, const char* what) {
    if (fd < 0)
        throw UsageError(std::string("weft::net: ") + what +
                         " of a socket that is not open (never opened, closed, or moved from)");
}
}  // namespace

SocketAddress local_address_of(int fd) {
    require_socket(fd, "local_address()");
    SocketAddress address;
    socklen_t size = SocketAddress::capacity();
    if (::getsockname(fd, address.native_buffer(), &size) != 0) throw_io_error(errno, "weft::net: getsockname");
    address.set_native_size(size);
    return address;
}

SocketAddress peer_address_of(int fd) {
    require_socket(fd, "peer_address()");
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
