// weft::net::UnixStream: a connected Unix-domain stream socket; UnixListener accepts them.
//
//   auto listener = weft::net::UnixListener::bind("/tmp/app.sock");   // or "@abstract-name"
//   auto client = co_await weft::net::UnixStream::connect("/tmp/app.sock");
//   auto server = co_await listener.accept();
//   auto [a, b] = weft::net::UnixStream::pair();                          // socketpair(2)
//
// Reading and writing: see Stream. bind() removes a stale socket file first only when
// `unlink_existing` is set, and only a socket (as asyncio's start_unix_server): any other
// file at the path stays, and bind fails with EADDRINUSE. The listener does not unlink its
// path when closed. An empty path, or one with a NUL byte, is a UsageError.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/net/address.hpp>
#include <weft/net/stream.hpp>
#include <weft/task.hpp>

namespace weft::net {

class UnixStream : public Stream {
public:
    UnixStream() noexcept = default;
    explicit UnixStream(int fd) noexcept : Stream(fd, detail::FdKind::socket) {}

    /// Connects to the listener at `path`. If its backlog is full, waits for room (as a
    /// blocking connect and asyncio do): bound the wait with timeout() or wait_for().
    static Task<UnixStream> connect(std::string path);
    static std::pair<UnixStream, UnixStream> pair();
};

class UnixListener {
public:
    UnixListener() noexcept = default;
    UnixListener(UnixListener&& other) noexcept : descriptor_(std::move(other.descriptor_)) {}
    UnixListener& operator=(UnixListener&& other) noexcept {
        descriptor_ = std::move(other.descriptor_);
        return *this;
    }

    static UnixListener bind(std::string_view path, int backlog = 1024, bool unlink_existing = false);
    /// The next connection (pauses and retries when out of descriptors, like TcpListener).
    Task<UnixStream> accept();

    SocketAddress local_address() const { return detail::local_address_of(descriptor_.fd()); }
    std::uint64_t backoffs() const noexcept { return backoffs_.load(weft::detail::memory_order_relaxed); }
    void close() noexcept { descriptor_.close(); }
    int native_handle() const noexcept { return descriptor_.fd(); }

private:
    explicit UnixListener(int fd) noexcept : descriptor_(fd) {}
    detail::Descriptor descriptor_;
    weft::detail::Atomic<std::uint64_t> backoffs_{0};
};

}  // namespace weft::net
