// HTTP status codes and their reason phrases (RFC 9110 section 15).
//
//   std::string_view r = weft::http::reason_phrase(404);   // "Not Found"
//   if (weft::http::status::is_success(code)) ...
#pragma once

#include <string_view>

namespace weft::http {

/// The standard reason phrase of `code`; "Unknown" for a code RFC 9110 does not name.
std::string_view reason_phrase(int code) noexcept;

namespace status {
inline constexpr int ok = 200;
inline constexpr int no_content = 204;
inline constexpr int moved_permanently = 301;
inline constexpr int found = 302;
inline constexpr int see_other = 303;
inline constexpr int not_modified = 304;
inline constexpr int temporary_redirect = 307;
inline constexpr int permanent_redirect = 308;
inline constexpr int bad_request = 400;
inline constexpr int not_found = 404;
inline constexpr int method_not_allowed = 405;
inline constexpr int request_timeout = 408;
inline constexpr int length_required = 411;
inline constexpr int payload_too_large = 413;
inline constexpr int uri_too_long = 414;
inline constexpr int expectation_failed = 417;
inline constexpr int request_header_fields_too_large = 431;
inline constexpr int internal_server_error = 500;
inline constexpr int not_implemented = 501;
inline constexpr int service_unavailable = 503;
inline constexpr int http_version_not_supported = 505;

constexpr bool is_informational(int code) noexcept { return code >= 100 && code < 200; }
constexpr bool is_success(int code) noexcept { return code >= 200 && code < 300; }
constexpr bool is_redirect(int code) noexcept { return code >= 300 && code < 400; }
constexpr bool is_client_error(int code) noexcept { return code >= 400 && code < 500; }
constexpr bool is_server_error(int code) noexcept { return code >= 500 && code < 600; }
}  // namespace status

}  // namespace weft::http
