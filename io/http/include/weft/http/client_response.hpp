// weft::http::ClientResponse: a response whose head has been read; its body is read on demand.
//
//   weft::http::ClientResponse r = co_await client.get("http://127.0.0.1:8080/hello");
//   r.status();                          // 200
//   r.headers().get("content-type");     // optional<string_view>
//   std::string body = co_await r.text();                  // the whole body (max_size guard)
//   // or streamed, with bounded memory:
//   char buf[64 * 1024];
//   while (std::size_t n = co_await r.read(buf, sizeof buf)) consume(buf, n);
//
// The connection goes back to the client's pool as soon as the body has been read to its end
// (read() returned 0 or text() returned). A response dropped (or close()d) before that closes
// its connection instead: a connection with unread bytes is never reused. Bodies may be
// Content-Length, chunked or close-delimited (read until the server closes); HEAD responses,
// 204 and 304 have none, whatever Content-Length or Transfer-Encoding they carry (RFC 9112
// section 6.3), and 1xx interim responses are skipped. Reading throws ServerDisconnected if the connection ends early,
// InvalidResponse if the body is malformed (chunked framing), RequestTimeout (phase read or
// total) if the server stalls; the response is then closed.
// One task reads a response at a time. Move-only; resumes on the worker loop the connection
// is registered with, as any socket read.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <weft/http/headers.hpp>
#include <weft/semaphore.hpp>
#include <weft/task.hpp>

namespace weft::http {

namespace detail {
class ClientConnection;
class ConnectionPool;
// A request's time limits: each wait for the server's bytes, and the whole request.
struct Deadlines {
    std::chrono::milliseconds read{};                // zero: none
    std::chrono::steady_clock::time_point total{};  // time_point{}: none
};
}  // namespace detail

class ClientResponse {
public:
    static constexpr std::size_t kDefaultMaxText = 64 * 1024 * 1024;

    ClientResponse() noexcept;
    ClientResponse(ClientResponse&&) noexcept;
    ClientResponse& operator=(ClientResponse&&) noexcept;
    ~ClientResponse();

    int status() const noexcept { return status_; }
    std::string_view reason() const noexcept { return reason_; }
    const Headers& headers() const noexcept { return headers_; }
    /// The URL that answered (the last one, after redirects).
    const std::string& url() const noexcept { return url_; }

    /// Up to `size` body bytes as soon as any are available; 0 at the end of the body.
    Task<std::size_t> read(void* data, std::size_t size);
    /// The rest of the body. ClientError if it is longer than `max_size` (the response is
    /// then closed: use read() for big bodies).
    Task<std::string> text(std::size_t max_size = kDefaultMaxText);
    /// True once the whole body has been read (its connection is back in the pool, or closed).
    bool body_complete() const noexcept { return complete_; }
    /// Drops the connection now, unread bytes and all (the destructor does too).
    void close() noexcept;

private:
    friend class detail::ConnectionPool;

    void finish_body();  // the body ended: hand the connection back
    std::size_t copy_body(char* out, std::size_t size);

    std::shared_ptr<detail::ConnectionPool> pool_;
    std::unique_ptr<detail::ClientConnection> connection_;
    Semaphore::Guard permit_;
    Semaphore::Guard host_permit_;
    detail::Deadlines deadlines_{};
    std::string url_;
    std::string reason_;
    Headers headers_;
    int status_ = 0;
    std::size_t span_ = 0;         // the next unread body span of the parser
    std::size_t span_offset_ = 0;  // bytes of it already read
    bool complete_ = false;        // the body was read to its end
};

}  // namespace weft::http
