#include <weft/net/unix_stream.hpp>

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <weft/io_error.hpp>
#include <weft/net/detail/accept.hpp>
#include <weft/sleep.hpp>

namespace weft::net {

Task<UnixStream> UnixStream::connect(std::string path) {
    SocketAddress peer = SocketAddress::unix_path(path);
    UnixStream stream(detail::open_socket(AF_UNIX, SOCK_STREAM, "UnixStream::connect: socket"));
    // A Unix connect completes at once or fails. EAGAIN: the listener's backlog is full. A
    // blocking connect would wait for room, and so does asyncio; we try again, backing off
    // from 1 ms to 50 ms, until there is room or the caller's timeout()/cancel() ends it.
    std::chrono::milliseconds backoff{1};
    int rc;
    for (;;) {
        do {
            rc = ::connect(stream.native_handle(), peer.native(), peer.native_size());
        } while (rc != 0 && errno == EINTR);
        if (rc == 0 || errno != EAGAIN) break;
        co_await sleep(backoff);
        backoff = std::min(backoff * 2, std::chrono::milliseconds{50});
    }
    if (rc != 0 && errno != EINPROGRESS) throw_io_error(errno, "UnixStream::connect to " + peer.to_string());
    if (rc != 0) co_await stream.wait_connected(peer);
    co_return stream;
}

std::pair<UnixStream, UnixStream> UnixStream::pair() {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
        throw_io_error(errno, "UnixStream::pair: socketpair");
    return {UnixStream(fds[0]), UnixStream(fds[1])};
}

UnixListener UnixListener::bind(std::string_view path, int backlog, bool unlink_existing) {
    SocketAddress address = SocketAddress::unix_path(path);
    UnixListener listener(detail::open_socket(AF_UNIX, SOCK_STREAM, "UnixListener::bind: socket"));
    // Only a socket is replaced (a stale one left by an earlier run), as asyncio does: a
    // mistyped path to some other file fails below with EADDRINUSE and the file survives.
    struct stat existing{};
    if (unlink_existing && path.front() != '@' && ::lstat(address.path().c_str(), &existing) == 0 &&
        S_ISSOCK(existing.st_mode))
        ::unlink(address.path().c_str());
    if (::bind(listener.descriptor_.fd(), address.native(), address.native_size()) != 0)
        throw_io_error(errno, "UnixListener::bind " + address.to_string());
    if (::listen(listener.descriptor_.fd(), backlog) != 0)
        throw_io_error(errno, "UnixListener::bind: listen on " + address.to_string());
    return listener;
}

Task<UnixStream> UnixListener::accept() { co_return UnixStream(co_await detail::accept_fd(descriptor_, backoffs_)); }

}  // namespace weft::net
