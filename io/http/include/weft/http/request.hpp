// weft::http::Request: one request a server received, as its handler sees it.
//
//   router.post("/upload/{name}", [](weft::http::Request& req) -> weft::Task<weft::http::Response> {
//       std::string_view name = req.path_param("name");     // percent-decoded
//       std::string mode = req.query_param("mode").value_or("append");   // ?mode=...
//       auto type = req.header("content-type");        // optional<string_view>, case-insensitive
//       std::string_view body = co_await req.body();   // whole body, up to max_body_bytes (413)
//       co_return weft::http::Response::text(std::to_string(body.size()));
//   });
//   // A large body, piece by piece, never all in memory:
//   for (;;) {
//       std::string_view piece = co_await req.read_some();   // empty at the end
//       if (piece.empty()) break;
//       sha.update(piece);
//   }
//
// Lifetime: every string_view a Request gives (method name, target, headers, path
// parameters, body pieces) points into the connection's read buffer (a decoded parameter: the
// Request's own) and is valid until the handler's Task completes (a body piece: until the
// next read_some()/body() call). Copy what must outlive the handler. Nothing is copied or
// allocated to build a Request (query_param and query_params return copies).
//
// The request's body is read from the socket only when the handler asks for it. A client that
// sent `Expect: 100-continue` gets its "100 Continue" at the first body read; if the handler
// answers without reading the body, the server skips a body already buffered and otherwise
// closes the connection after the response (as aiohttp and nginx do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/http/method.hpp>
#include <weft/task.hpp>

namespace weft::http {

namespace detail {
class BodySource;
class RequestParser;
struct RequestAccess;
}  // namespace detail

/// A header field of a received request (views into the read buffer).
struct HeaderView {
    std::string_view name;
    std::string_view value;
};

class Request {
public:
    Request() = default;
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    Method method() const noexcept { return method_; }
    /// The method as received ("GET", or an extension method's token).
    std::string_view method_name() const noexcept { return method_name_; }
    /// The request target as received: "/a/b?x=1".
    std::string_view target() const noexcept { return target_; }
    /// The target up to '?' (not percent-decoded).
    std::string_view path() const noexcept { return path_; }
    /// The target after '?' ("" if none; not decoded).
    std::string_view query() const noexcept { return query_; }
    int version_major() const noexcept { return version_major_; }
    int version_minor() const noexcept { return version_minor_; }
    /// Whether the connection stays open after this request (HTTP/1.1 default, Connection:).
    bool keep_alive() const noexcept { return keep_alive_; }
    /// HTTPS with client certificates (ServerOptions::tls_client_auth): the subject of the
    /// client's verified certificate, RFC 2253 ("CN=alice,O=example"); "" without one.
    std::string_view peer_subject() const noexcept { return peer_subject_; }

    /// The first value of `name` (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const noexcept;
    /// Every header field, in the order received.
    std::span<const HeaderView> headers() const noexcept { return {headers_.data(), headers_.size()}; }

    /// The value the router bound to `{name}` in the matched pattern, percent-decoded as
    /// aiohttp's match_info is (/users/a%20b gives "a b"; an encoded "%2F" is part of its
    /// segment and decodes to '/'); "" if none.
    std::string_view path_param(std::string_view name) const noexcept;
    /// path_param as it came in the target ("a%20b").
    std::string_view path_param_raw(std::string_view name) const noexcept;

    /// The first value of query field `name` ("?q=a+b%26c": "a b&c"), decoded as an HTML
    /// form's ('+' is a space, names are decoded too), as aiohttp's request.query.get(name);
    /// nullopt if the query has no such field ("?q" or "?q=": "").
    std::optional<std::string> query_param(std::string_view name) const;
    /// Every name=value pair of the query, decoded, in order (repeats kept; empty pairs skipped).
    std::vector<std::pair<std::string, std::string>> query_params() const;

    /// Content-Length, if the request has one.
    std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
    bool chunked() const noexcept { return chunked_; }
    /// Whether a body follows the head (Content-Length > 0 or chunked).
    bool has_body() const noexcept { return chunked_ || (content_length_ && *content_length_ > 0); }

    /// The whole body (after decoding chunked framing), read now if it was not. HttpError 413
    /// if it is larger than ServerOptions::max_body_bytes. Valid until the handler completes
    /// (or the next body call). Empty if the request has no body or it was read already.
    Task<std::string_view> body();
    /// The next piece of the body as it arrives; empty at its end. Each piece is valid until
    /// the next call. The total is limited by max_body_bytes too (HttpError 413).
    Task<std::string_view> read_some();
    /// Copies up to `size` bytes of the body into `data`; 0 at its end.
    Task<std::size_t> read_body(void* data, std::size_t size);

private:
    friend class detail::RequestParser;
    friend class detail::BodySource;
    friend struct detail::RequestAccess;

    void reset() noexcept;

    Method method_ = Method::get;
    std::string_view method_name_;
    std::string_view target_;
    std::string_view path_;
    std::string_view query_;
    int version_major_ = 1;
    int version_minor_ = 1;
    bool keep_alive_ = true;
    bool chunked_ = false;
    bool expect_continue_ = false;
    std::optional<std::uint64_t> content_length_;
    std::vector<HeaderView> headers_;  // reused from request to request (no allocation once warm)
    struct PathParam {
        std::string_view name;
        std::string_view raw;    // in the read buffer
        std::string_view value;  // decoded: `raw` itself, or in decoded_params_
    };
    static constexpr std::size_t kMaxParams = 8;
    PathParam params_[kMaxParams];
    std::size_t param_count_ = 0;
    // The decoded values that differ from their raw form. Reserved by the router to the path's
    // size before it binds, so it never reallocates under the views into it (reused from
    // request to request).
    std::string decoded_params_;
    std::string_view pending_;  // the rest of a piece read_body() has not copied out yet
    detail::BodySource* body_source_ = nullptr;
    std::string_view peer_subject_;  // the connection's (kept by reset())

public:
    // Router use: makes room to decode the parameters of a path of `path_size` bytes, binds
    // one (raw, as in the target; at most 8 per pattern), forgets those bound.
    void reserve_path_params(std::size_t path_size) { decoded_params_.reserve(path_size); }
    void bind_path_param(std::string_view name, std::string_view raw) noexcept;
    void clear_path_params() noexcept {
        param_count_ = 0;
        decoded_params_.clear();
    }
};

}  // namespace weft::http
