#include <weft/http/url.hpp>

#include <arpa/inet.h>

#include <charconv>

#include <weft/error.hpp>

namespace weft::http {
namespace {

[[noreturn]] void bad(std::string_view text, const char* why) {
    throw UsageError("http::Url: \"" + std::string(text) + "\": " + why);
}

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_host_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

// Visible ASCII only: a space, control byte or non-ASCII byte would corrupt the request line.
void check_visible(std::string_view text) {
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) bad(text, "holds a space, control character or non-ASCII byte (percent-encode it)");
    }
}

// Removes "." and ".." segments (RFC 3986 section 5.2.4), keeping the query as is.
std::string normalize_path(std::string_view target) {
    std::size_t query = target.find('?');
    std::string_view path = target.substr(0, query);
    std::string out;
    std::size_t i = 0;
    while (i < path.size()) {
        std::size_t next = path.find('/', i + 1);
        if (next == std::string_view::npos) next = path.size();
        std::string_view segment = path.substr(i, next - i);  // "/name"
        if (segment == "/.") {
            if (next == path.size()) out += '/';
        } else if (segment == "/..") {
            std::size_t cut = out.rfind('/');
            out.resize(cut == std::string::npos ? 0 : cut);
            if (next == path.size()) out += '/';
        } else {
            out += segment;
        }
        i = next;
    }
    if (out.empty()) out.push_back('/');  // (not `out = "/"`: g++ 12 warns, -Wrestrict)
    if (query != std::string_view::npos) out += target.substr(query);
    return out;
}

}  // namespace

Url Url::parse(std::string_view text) {
    check_visible(text);
    Url url;
    std::size_t colon = text.find("://");
    if (colon == std::string_view::npos) bad(text, "not an absolute http:// or https:// URL");
    for (char c : text.substr(0, colon)) url.scheme += lower(c);
    if (url.scheme != "http" && url.scheme != "https") bad(text, "the scheme must be http or https");
    std::string_view rest = text.substr(colon + 3);
    if (std::size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
    std::size_t end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, end);
    std::string_view target = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    if (authority.find('@') != std::string_view::npos) bad(text, "userinfo (user@host) is not supported");
    if (authority.empty()) bad(text, "no host");

    std::string_view port_text;
    if (authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) bad(text, "unterminated [IPv6] host");
        std::string host(authority.substr(1, close - 1));
        in6_addr address{};
        if (::inet_pton(AF_INET6, host.c_str(), &address) != 1) bad(text, "not an IPv6 address in [ ]");
        for (char c : host) url.host += lower(c);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') bad(text, "junk after the [IPv6] host");
            port_text = after.substr(1);
            if (port_text.empty()) bad(text, "empty port");
        }
    } else {
        std::size_t port_colon = authority.rfind(':');
        std::string_view host = authority.substr(0, port_colon);
        if (port_colon != std::string_view::npos) {
            port_text = authority.substr(port_colon + 1);
            if (port_text.empty()) bad(text, "empty port");
        }
        if (host.empty()) bad(text, "no host");
        for (char c : host) {
            if (!is_host_char(c)) bad(text, "the host holds a character a host name cannot");
            url.host += lower(c);
        }
    }
    if (port_text.empty()) {
        url.port = url.scheme == "https" ? 443 : 80;
    } else {
        unsigned port = 0;
        auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || port == 0 || port > 65535) {
            bad(text, "the port must be a number 1..65535");
        }
        url.port = static_cast<std::uint16_t>(port);
    }
    if (target.empty() || target.front() == '?') {
        url.target.push_back('/');
        url.target.append(target);
    } else {
        url.target = normalize_path(target);
    }
    return url;
}

std::string Url::authority() const {
    bool v6 = host.find(':') != std::string::npos;
    std::string out = v6 ? "[" + host + "]" : host;
    if (port != (is_https() ? 443 : 80)) {
        out += ':';
        out += std::to_string(port);
    }
    return out;
}

std::string Url::origin() const { return scheme + "://" + authority(); }

Url Url::resolve(std::string_view reference) const {
    if (std::size_t hash = reference.find('#'); hash != std::string_view::npos) reference = reference.substr(0, hash);
    if (reference.find("://") != std::string_view::npos) return parse(reference);
    check_visible(reference);
    if (reference.starts_with("//")) return parse(scheme + ":" + std::string(reference));
    Url out = *this;
    if (reference.empty()) return out;
    if (reference.front() == '/') {
        out.target = normalize_path(reference);
    } else if (reference.front() == '?') {
        out.target = target.substr(0, target.find('?')) + std::string(reference);
    } else {
        std::string_view path = std::string_view(target).substr(0, target.find('?'));
        std::string base(path.substr(0, path.rfind('/') + 1));
        out.target = normalize_path(base + std::string(reference));
    }
    return out;
}

}  // namespace weft::http
