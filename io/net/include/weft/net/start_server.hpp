// weft::net::start_server(handler, host, port): a TCP server calling handler(reader, writer)
// for each connection (asyncio.start_server).
//
//   weft::Task<> echo(weft::net::TcpReader reader, weft::net::TcpWriter writer) {
//       while (auto line = co_await reader.read_line()) {
//           writer.write(*line + "\n");
//           co_await writer.drain();
//       }
//   }
//   weft::net::Server server = co_await weft::net::start_server(echo, "127.0.0.1", 0);
//   spdlog::info("serving on port {}", server.port());   // port 0: the one picked
//   co_await server.serve_forever();                      // until close() or cancellation
//   co_await server.wait_closed();                        // every connection handler ended
//
// Accepting is per core: one SO_REUSEPORT listener per worker, each on its worker's reactor
// (serve.hpp's PerCoreListener), so every loop accepts and a connection's I/O starts on the
// loop that accepted it. A port that something already holds (another server, another copy
// of this one) is IoError EADDRINUSE, as in asyncio, never a port silently shared. It starts
// at once (asyncio's start_serving=True). Each connection
// runs handler(reader, writer) as its own task; a handler's exception is logged, as for a
// detached task. The handler receives the halves of the stream (into_split): it may hand
// them to two tasks.
//
// close(): stops accepting (the listeners close; new connections are refused); connections
// already accepted run on. wait_closed(): until the acceptors stopped and every handler
// returned (asyncio 3.12). serve_forever(): returns when close() is called (asyncio raises
// CancelledError there instead); cancelling it closes the server. Destroying the Server
// closes it. Host: a numeric address or a name (weft::resolve: the first address is used;
// asyncio binds every address found); "" means every IPv4 interface (0.0.0.0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <weft/net/address.hpp>
#include <weft/net/open_connection.hpp>
#include <weft/task.hpp>

namespace weft::net {

namespace detail {
struct ServerState;
}

using StreamHandler = std::function<Task<void>(TcpReader, TcpWriter)>;

struct ServerOptions {
    unsigned acceptors = 0;                    // 0: one per worker
    int backlog = 1024;                        // listen(2)
    std::size_t limit = TcpReader::kDefaultLimit;  // each reader's limit
    bool nodelay = true;                       // TCP_NODELAY on accepted connections
};

class Server {
public:
    Server() noexcept = default;
    explicit Server(std::shared_ptr<detail::ServerState> state) noexcept : state_(std::move(state)) {}
    Server(Server&&) noexcept = default;
    Server& operator=(Server&& other) noexcept;
    ~Server();

    /// The bound address (with the port the kernel picked for port 0).
    SocketAddress local_address() const;
    std::uint16_t port() const { return local_address().port(); }
    /// True until close().
    bool is_serving() const;
    /// Connection handlers running now.
    std::size_t active_connections() const;

    /// Stops accepting. Idempotent; connections run on.
    void close();
    /// Until the acceptors stopped and every connection handler returned (call close() first,
    /// or it waits for that too).
    Task<void> wait_closed();
    /// Until close() (returns normally). Cancelling it closes the server. UsageError if closed.
    Task<void> serve_forever();

private:
    std::shared_ptr<detail::ServerState> state_;
};

/// Binds (the name looked up first if not numeric) and starts accepting.
Task<Server> start_server(StreamHandler handler, std::string host, std::uint16_t port, ServerOptions options = {});
Task<Server> start_server(StreamHandler handler, SocketAddress address, ServerOptions options = {});

}  // namespace weft::net
