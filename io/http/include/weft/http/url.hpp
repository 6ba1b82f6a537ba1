// weft::http::Url: the parts of an http:// or https:// URL the client needs.
//
//   auto url = weft::http::Url::parse("https://[::1]:8443/search?q=weft");
//   url.scheme;     // "https"       url.host;   // "::1" (no brackets)
//   url.port;       // 8443          url.target; // "/search?q=weft"
//   url.authority() // "[::1]:8443" (the Host header)    url.origin() // "https://[::1]:8443"
//   auto next = url.resolve("/login");  // a redirect's Location, absolute or relative
//
// A small parser, not a general URI library: the scheme must be http or https (any case), the
// host a name, an IPv4 address or a bracketed IPv6 address, the port 1..65535 (default 80 or
// 443); userinfo ("user@") is refused, the fragment is dropped, the path defaults to "/".
// Anything else, and any space, control character or non-ASCII byte, is weft::UsageError,
// raised before a request is sent. The host is lower-cased (names are case-insensitive).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace weft::http {

struct Url {
    std::string scheme;  // "http" or "https"
    std::string host;    // without brackets
    std::uint16_t port = 0;
    std::string target;  // path and query, "/" at least

    /// Parses an absolute URL; UsageError if it is not one weft can fetch.
    static Url parse(std::string_view text);

    bool is_https() const noexcept { return scheme == "https"; }
    /// host[:port] as the Host header carries it (the port only when not the default).
    std::string authority() const;
    /// scheme://authority: the connection pool's key.
    std::string origin() const;
    /// The whole URL, as error messages quote it.
    std::string str() const { return origin() + target; }
    /// `reference` (a Location header) taken relative to this URL (RFC 3986 section 5, for
    /// the forms servers send: absolute, //host/path, /path, path, ?query).
    Url resolve(std::string_view reference) const;
};

}  // namespace weft::http
