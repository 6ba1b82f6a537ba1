// OpenSSL's error queue as text, for TlsError messages. OpenSSL's queue is per thread and a
// task may move between workers at any await: read it in the same critical section as the
// failed call, and clear it (ERR_clear_error) before each call.
#pragma once

#include <string>
#include <string_view>

namespace weft::tls::detail {

/// Drains this thread's OpenSSL error queue: "<reason>; <reason>", or `fallback` if empty.
std::string take_openssl_errors(std::string_view fallback = "unknown OpenSSL error");

/// take_openssl_errors() prefixed by "<context>: ".
[[noreturn]] void throw_tls_error(std::string_view context);

}  // namespace weft::tls::detail
