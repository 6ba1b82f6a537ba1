// One client connection: the socket, its read buffer, the response parser and the request
// bytes being sent (private to weft_http).
//
//   auto c = co_await ClientConnection::open(url, options, deadlines);  // ConnectError, RequestTimeout
//   c->parser.start(false, &headers, &reason);
//   co_await c->send(url_text, deadlines);            // c->request, as serialized
//   while (!c->parser.head_complete()) co_await c->receive(url_text, deadlines);
//
// receive() reads once into the buffer (from its start: the caller has consumed the body
// spans of the previous read) and feeds the parser; it maps every failure to the client's
// errors: end of stream or reset -> ServerDisconnected, llhttp's complaint -> InvalidResponse,
// a deadline -> RequestTimeout. After a failure the connection must be dropped.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <weft/http/client.hpp>
#include <weft/http/url.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/task.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>

#include "response_parser.hpp"

namespace weft::http::detail {

class ClientConnection {
public:
    static constexpr std::size_t kBufferSize = 16 * 1024;

    ClientConnection(net::TcpStream stream, std::string origin);
    ClientConnection(tls::Stream stream, std::string origin);

    /// Connects to `url`'s origin within options.connect_timeout (and the total deadline);
    /// https: the TLS handshake with `tls` (SNI and the certificate checked for url.host).
    static Task<std::unique_ptr<ClientConnection>> open(const Url& url, const std::string& url_text,
                                                        const ClientOptions& options, const tls::Context* tls,
                                                        const Deadlines& deadlines);

    /// Writes `request` (ServerDisconnected if the peer is gone).
    Task<void> send(const std::string& url, const Deadlines& deadlines);
    /// Reads once and parses what came. Body spans point into this connection's buffer.
    Task<void> receive(const std::string& url, const Deadlines& deadlines);

    /// A peek without waiting: false if the server has closed this idle connection (or sent
    /// something unasked).
    bool still_open() const noexcept;

    const std::string& origin() const noexcept { return origin_; }

    ResponseParser parser;
    std::string request;  // the serialized request (reused: no allocation per request)
    bool close_requested = false;  // the request said Connection: close: not reused after it
    std::chrono::steady_clock::time_point idle_since{};
    bool reused = false;

private:
    Task<std::size_t> read_some();

    net::TcpStream stream_;  // plain http:// (closed for https://)
    tls::Stream tls_;        // https:// (closed for http://)
    bool secure_ = false;
    std::unique_ptr<char[]> buffer_;
    std::string origin_;
};

}  // namespace weft::http::detail
