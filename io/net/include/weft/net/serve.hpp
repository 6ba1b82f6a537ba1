// Per-core accepting: one SO_REUSEPORT listener per worker, each registered with its own
// worker's reactor, so every loop accepts (the kernel spreads new connections over the
// listeners) and a connection's I/O starts on the loop that accepted it.
//
//   auto server = weft::net::PerCoreListener::bind(weft::net::SocketAddress::ip("127.0.0.1", 9000));
//   co_await server.serve([](weft::net::TcpStream s) -> weft::Task<> { ... });  // until cancelled
//   // or in one go:
//   co_await weft::net::serve_per_core(address, handler, {.shutdown = &shutdown});
//
// serve() spawns one acceptor task per listener and each accepted connection as its own
// task running handler(stream) (tracked by options.shutdown when given, so that
// Shutdown::run() cancels them). Cancelling serve() stops the acceptors and closes the
// listeners, not the connections (Shutdown::run() does that). Tasks may still be stolen by
// other workers; their I/O stays on the worker it was registered with, which resumes them.
#pragma once

#include <functional>
#include <vector>

#include <weft/net/address.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/task.hpp>

namespace weft {
class Shutdown;
}

namespace weft::net {

using ConnectionHandler = std::function<Task<void>(TcpStream)>;

struct ServeOptions {
    unsigned acceptors = 0;        // 0: one per worker of the runtime serve() runs on
    bool nodelay = true;           // TCP_NODELAY on accepted connections
    Shutdown* shutdown = nullptr;  // track connection tasks here
};

class PerCoreListener {
public:
    /// Binds the first listener now (so the port, even port 0's pick, is known at once);
    /// serve() binds the others to the same address.
    static PerCoreListener bind(const SocketAddress& address, int backlog = 1024);

    SocketAddress local_address() const { return address_; }
    /// Runs the acceptors until cancelled (or until one fails: its error is rethrown).
    /// When it ends the listeners are closed: new connections are refused from then on.
    Task<void> serve(ConnectionHandler handler, ServeOptions options = {});

private:
    SocketAddress address_;
    int backlog_ = 1024;
    std::vector<TcpListener> listeners_;
};

/// PerCoreListener::bind(address) then serve(handler, options).
Task<void> serve_per_core(SocketAddress address, ConnectionHandler handler, ServeOptions options = {});

}  // namespace weft::net
