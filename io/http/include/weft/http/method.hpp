// weft::http::Method: an HTTP request method, and its name on the wire.
//
//   weft::http::Method m = weft::http::parse_method("POST");   // Method::post
//   std::string_view name = weft::http::to_string(m);           // "POST"
//
// The methods RFC 9110 and RFC 5789 define get their own enumerator; any other token is
// Method::other (a server's Request keeps the name it received).
#pragma once

#include <cstdint>
#include <string_view>

namespace weft::http {

enum class Method : std::uint8_t { get, head, post, put, delete_, connect, options, trace, patch, other };

/// The method's name as sent on the wire ("GET", ...); "" for Method::other.
std::string_view to_string(Method method) noexcept;

/// The method named `name` (case-sensitive, as RFC 9110 says); Method::other if none.
Method parse_method(std::string_view name) noexcept;

}  // namespace weft::http
