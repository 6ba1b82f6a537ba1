// weft::net::TcpListener: a listening TCP socket.
//
//   auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress::ip("127.0.0.1", 0));
//   spdlog::info("on {}", listener.local_address().to_string());
//   for (;;) {
//       weft::net::TcpStream stream = co_await listener.accept();
//       weft::spawn(serve(std::move(stream))).detach();
//   }
//
// bind() is synchronous and works outside a runtime too. accept() resumes on the worker
// the listener is registered with (the first to wait on it, or pin_to_worker()); out of
// file descriptors it pauses and retries instead of failing (backoffs() counts the pauses);
// when descriptors come back, the process's listeners take turns, the one short longest first.
// For one listener per worker, see serve.hpp.
#pragma once

#include <cstdint>

#include <weft/detail/atomic.hpp>
#include <weft/net/address.hpp>
#include <weft/net/detail/descriptor.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/task.hpp>

namespace weft::net {

struct ListenOptions {
    bool reuse_port = false;    // SO_REUSEPORT: several listeners share the port, the kernel spreads connections
    int backlog = 1024;         // listen(2); the kernel caps it at net.core.somaxconn
    bool reuse_address = true;  // SO_REUSEADDR: rebind while old connections sit in TIME_WAIT
    bool ipv6_only = false;     // for "::": refuse IPv4-mapped connections
};

class TcpListener {
public:
    TcpListener() noexcept = default;
    TcpListener(TcpListener&& other) noexcept
        : descriptor_(std::move(other.descriptor_)),
          backoffs_(other.backoffs_.load(weft::detail::memory_order_relaxed)) {}
    TcpListener& operator=(TcpListener&& other) noexcept {
        descriptor_ = std::move(other.descriptor_);
        backoffs_.store(other.backoffs_.load(weft::detail::memory_order_relaxed), weft::detail::memory_order_relaxed);
        return *this;
    }

    static TcpListener bind(const SocketAddress& address, ListenOptions options = {});

    /// The next connection. A cancellation point; a cancelled accept loses no connection.
    Task<TcpStream> accept();

    SocketAddress local_address() const { return detail::local_address_of(descriptor_.fd()); }
    /// Deliver this listener's readiness to worker `worker` (call before the first accept).
    void pin_to_worker(unsigned worker) noexcept { descriptor_.pin_to_worker(worker); }
    /// How many times accept() paused for lack of file descriptors or memory.
    std::uint64_t backoffs() const noexcept { return backoffs_.load(weft::detail::memory_order_relaxed); }
    void close() noexcept { descriptor_.close(); }
    bool is_open() const noexcept { return descriptor_.is_open(); }
    int native_handle() const noexcept { return descriptor_.fd(); }

private:
    explicit TcpListener(int fd) noexcept : descriptor_(fd) {}
    detail::Descriptor descriptor_;
    weft::detail::Atomic<std::uint64_t> backoffs_{0};
};

}  // namespace weft::net
