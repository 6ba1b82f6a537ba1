#include <weft/http/method.hpp>

namespace weft::http {

std::string_view to_string(Method method) noexcept {
    switch (method) {
        case Method::get:
            return "GET";
        case Method::head:
            return "HEAD";
        case Method::post:
            return "POST";
        case Method::put:
            return "PUT";
        case Method::delete_:
            return "DELETE";
        case Method::connect:
            return "CONNECT";
        case Method::options:
            return "OPTIONS";
        case Method::trace:
            return "TRACE";
        case Method::patch:
            return "PATCH";
        case Method::other:
            break;
    }
    return "";
}

Method parse_method(std::string_view name) noexcept {
    for (auto m : {Method::get, Method::head, Method::post, Method::put, Method::delete_, Method::connect,
                   Method::options, Method::trace, Method::patch}) {
        if (name == to_string(m)) {
            return m;
        }
    }
    return Method::other;
}

}  // namespace weft::http
