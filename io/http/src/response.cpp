#include <weft/http/response.hpp>

#include <utility>

namespace weft::http {

Response Response::text(std::string body, int status) {
    Response r(status);
    r.body = std::move(body);
    r.content_type = "text/plain; charset=utf-8";
    return r;
}

Response Response::json(std::string body, int status) {
    Response r(status);
    r.body = std::move(body);
    r.content_type = "application/json";
    return r;
}

Response Response::html(std::string body, int status) {
    Response r(status);
    r.body = std::move(body);
    r.content_type = "text/html; charset=utf-8";
    return r;
}

Response Response::stream(StreamFn writer, std::optional<std::uint64_t> content_length, std::string_view content_type) {
    Response r(200);
    r.stream_body = std::move(writer);
    r.stream_length = content_length;
    r.content_type = content_type;
    return r;
}

}  // namespace weft::http
