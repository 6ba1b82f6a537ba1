// detail::append_response_head(): a response's status line and header block, appended to the
// connection's output buffer (which is reused, so a warm connection allocates nothing here).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <weft/http/response.hpp>

namespace weft::http::detail {

struct HeadFraming {
    std::optional<std::uint64_t> content_length;  // none: chunked (or no body at all)
    bool chunked = false;
    bool keep_alive = true;
    bool http10 = false;  // say "Connection: keep-alive" to an HTTP/1.0 client we keep
};

void append_response_head(std::string& out, const Response& response, const HeadFraming& framing);
/// A whole small error response (text/plain body, status's reason phrase if `body` is empty).
void append_simple_response(std::string& out, int status, std::string_view body, bool keep_alive,
                            std::string_view extra_header = {});
/// Whether `status` forbids a body (1xx, 204, 304).
constexpr bool status_has_no_body(int status) noexcept {
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}

}  // namespace weft::http::detail
