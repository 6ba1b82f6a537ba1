#include "response_head.hpp"

#include <charconv>

#include <weft/http/headers.hpp>
#include <weft/http/status.hpp>

#include "date_cache.hpp"

namespace weft::http::detail {

namespace {

void append_number(std::string& out, std::uint64_t value) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
}

void append_status_line(std::string& out, int status) {
    if (status == 200) {
        out.append("HTTP/1.1 200 OK\r\n");
        return;
    }
    out.append("HTTP/1.1 ");
    append_number(out, static_cast<std::uint64_t>(status));
    out.push_back(' ');
    out.append(reason_phrase(status));
    out.append("\r\n");
}

}  // namespace

void append_response_head(std::string& out, const Response& response, const HeadFraming& framing) {
    append_status_line(out, response.status);
    out.append(date_line());
    if (!response.content_type.empty() && !response.headers.contains("content-type")) {
        out.append("Content-Type: ");
        out.append(response.content_type);
        out.append("\r\n");
    }
    if (framing.chunked) {
        out.append("Transfer-Encoding: chunked\r\n");
    } else if (framing.content_length) {
        out.append("Content-Length: ");
        append_number(out, *framing.content_length);
        out.append("\r\n");
    }
    for (const HeaderField& field : response.headers) {
        out.append(field.name);
        out.append(": ");
        out.append(field.value);
        out.append("\r\n");
    }
    if (!framing.keep_alive) {
        out.append("Connection: close\r\n");
    } else if (framing.http10) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

void append_simple_response(std::string& out, int status, std::string_view body, bool keep_alive,
                            std::string_view extra_header) {
    if (body.empty()) body = reason_phrase(status);
    append_status_line(out, status);
    out.append(date_line());
    out.append("Content-Type: text/plain; charset=utf-8\r\nContent-Length: ");
    append_number(out, body.size() + 1);
    out.append("\r\n");
    out.append(extra_header);
    if (!keep_alive) out.append("Connection: close\r\n");
    out.append("\r\n");
    out.append(body);
    out.push_back('\n');
}

}  // namespace weft::http::detail
