// weft::http::Server: an HTTP/1.1 server, one SO_REUSEPORT listener per worker.
//
//   weft::http::Router router;
//   router.get("/", [](weft::http::Request&) -> weft::Task<weft::http::Response> {
//       co_return weft::http::Response::text("Hello, World!");
//   });
//   weft::http::Server server(router, {.max_body_bytes = 8 << 20});
//   server.listen(weft::net::SocketAddress::ip("127.0.0.1", 0));   // the port is known now
//   weft::Shutdown shutdown;
//   shutdown.spawn(server.serve(), "http");
//   co_await weft::SignalListener({SIGINT, SIGTERM}).recv();
//   co_await shutdown.run(15s);            // cancels serve(): a graceful stop (below)
//
// Each connection is its own task: it reads into one buffer, parses every request already
// there (llhttp; the Request's fields are views into the buffer), runs each handler in
// order and writes all their responses with one write (pipelining). Keep-alive by default,
// Content-Length and chunked request bodies (read on demand, streamed), Expect:
// 100-continue, streamed and chunked responses, a Date header cached per worker.
//
// Limits (ServerOptions): a head larger than max_header_bytes or with more than max_headers
// fields: 431; a body over max_body_bytes: 413; an unparsable request: 400; a method not
// supported by HTTP/1.1 framing (CONNECT, upgrades): 501; each followed by a close. A client
// that has not sent a whole head within header_read_timeout of its first byte gets 408 and
// is closed; a keep-alive connection idle for keep_alive_timeout is closed; one whose client
// takes none of a response for send_timeout is reset. A slow client costs its connection's
// buffer and task, not other clients' progress.
//
// Stopping: cancelling serve() (Shutdown::run does) stops accepting at once, closes idle
// connections and TLS handshakes in progress, lets requests in progress finish (their
// responses say Connection: close) for up to graceful_timeout, then cancels the rest;
// serve() returns (rethrows the CancelledError) once every connection has ended (handshakes
// included). The Server must outlive serve().
// A handler that throws HttpError gets that status; any other exception: 500, logged with
// spdlog; the connection goes on either way. With handler_timeout set, a handler that has not
// returned in time sees TimeoutError (the server's own: weft::timeout's rules), and if it lets
// it out the client gets 503 Service Unavailable and the connection closes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <weft/http/request.hpp>
#include <weft/http/response.hpp>
#include <weft/http/router.hpp>
#include <weft/net/address.hpp>
#include <weft/task.hpp>
#include <weft/tls/context.hpp>

namespace weft::http {

struct ServerOptions {
    std::size_t max_header_bytes = 16 * 1024;  // request line + headers (431)
    std::size_t max_headers = 100;             // header fields (431)
    std::uint64_t max_body_bytes = 1 << 20;    // body(), read_some() and Content-Length (413)
    std::chrono::milliseconds header_read_timeout{10'000};  // first byte of a head to its end (408)
    std::chrono::milliseconds keep_alive_timeout{75'000};   // idle between requests (close)
    std::chrono::milliseconds body_read_timeout{60'000};    // silence while reading a body (408)
    std::chrono::milliseconds graceful_timeout{10'000};     // in-flight requests at a stop
    // A write of a response (buffered, streamed or pipelined; TCP or TLS) that makes no
    // progress for this long: the client is not reading, so the connection is reset (and a
    // warning logged). Between two writes that make progress, not for the whole response
    // (nginx's send_timeout, also 60 s): a slow but steady reader gets any size. As for the
    // timeouts above, milliseconds::max() is never.
    std::chrono::milliseconds send_timeout{60'000};
    // A handler still running this long after it started gets TimeoutError at its current
    // await; if it lets it out, the client gets 503 and a close. 0: none (the default, as in
    // aiohttp and Go's net/http). Until the handler returns its Response: a streamed body
    // is not covered.
    std::chrono::milliseconds handler_timeout{0};
    unsigned acceptors = 0;                    // 0: one listener per worker
    // Connections open at once (nginx's worker_connections), TLS handshakes included; 0: no
    // limit (the default). At the limit a new client closes the connection idle longest
    // (TLS handshakes in progress first, then keep-alive connections waiting for a request);
    // if none is idle, the new client is closed at once and a warning logged.
    // Keeps idle keep-alive clients from holding every descriptor.
    std::size_t max_connections = 0;
    /// TLS: when both are set the server speaks HTTPS (PEM files).
    std::string tls_cert_file{};
    std::string tls_key_file{};
    /// HTTPS with client certificates (mutual TLS, tls::ClientAuth): optional or required,
    /// verified against tls_client_ca_file; a handler reads Request::peer_subject().
    tls::ClientAuth tls_client_auth = tls::ClientAuth::none;
    std::string tls_client_ca_file{};
};

class Server {
public:
    explicit Server(Router router, ServerOptions options = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds the first listener now (port 0 picks one); serve() binds the others.
    void listen(const net::SocketAddress& address);
    /// The bound address (after listen()).
    net::SocketAddress local_address() const;
    /// Accepts and serves until cancelled, then stops gracefully (see above).
    Task<void> serve();
    /// listen(address) then serve().
    Task<void> serve(net::SocketAddress address);

    /// Connections open now.
    std::size_t connections() const noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace weft::http
