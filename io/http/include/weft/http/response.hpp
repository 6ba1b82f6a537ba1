// weft::http::Response: what a server handler returns.
//
//   co_return weft::http::Response::text("Hello, World!");                 // 200, text/plain
//   co_return weft::http::Response::json(R"({"id": 42})", 201);
//   co_return weft::http::Response(204);                                   // no body
//   auto r = weft::http::Response::text("moved", 301);
//   r.headers.add("Location", "/new");
//   // A body produced as it is sent (a 100 MB download never held in memory):
//   co_return weft::http::Response::stream([](weft::http::BodyWriter& out) -> weft::Task<void> {
//       for (int i = 0; i < 1000; ++i) co_await out.write(make_block(i));
//   });                                    // chunked; pass a content length to send it plain
//
// The server adds Date, Content-Length (or Transfer-Encoding: chunked for a stream of unknown
// length) and Connection when it closes; do not set those yourself. A HEAD request gets the
// headers only. A streaming writer runs after the status line and headers went out: if it
// throws, the connection is closed (the client sees a truncated body), as in aiohttp.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <weft/http/headers.hpp>
#include <weft/task.hpp>

namespace weft::http {

/// Where a streamed response body goes (Response::stream): write() sends the bytes (as one
/// chunk when chunked), waiting while the socket is full, so a fast producer is held back.
class BodyWriter {
public:
    virtual Task<void> write(std::string_view data) = 0;

protected:
    ~BodyWriter() = default;
};

class Response {
public:
    using StreamFn = std::function<Task<void>(BodyWriter&)>;

    explicit Response(int status = 200) noexcept : status(status) {}

    static Response text(std::string body, int status = 200);
    static Response json(std::string body, int status = 200);
    static Response html(std::string body, int status = 200);
    /// A body written by `writer` as it is sent; chunked unless `content_length` is given (then
    /// the writer must write exactly that many bytes, else the connection is closed).
    static Response stream(StreamFn writer, std::optional<std::uint64_t> content_length = std::nullopt,
                           std::string_view content_type = "application/octet-stream");

    int status;
    Headers headers;
    std::string body;
    /// Sent as Content-Type unless headers has one; a literal (static storage).
    std::string_view content_type;
    StreamFn stream_body;
    std::optional<std::uint64_t> stream_length;
};

}  // namespace weft::http
