#include <weft/net/address.hpp>

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include <weft/error.hpp>
#include <weft/io_error.hpp>

namespace weft::net {

namespace {

// An IPv6 zone ("%eth0" or "%2", RFC 4007 section 11): the interface index, 0 if none such.
unsigned scope_id_of(std::string_view zone) noexcept {
    if (zone.empty() || zone.size() >= IF_NAMESIZE) return 0;
    char name[IF_NAMESIZE];
    std::memcpy(name, zone.data(), zone.size());
    name[zone.size()] = '\0';
    if (unsigned index = ::if_nametoindex(name)) return index;
    unsigned long number = 0;
    for (char c : zone) {
        if (c < '0' || c > '9' || (number = number * 10 + static_cast<unsigned>(c - '0')) > 0xffffffffUL) return 0;
    }
    return static_cast<unsigned>(number);
}

}  // namespace

std::optional<SocketAddress> SocketAddress::try_ip(std::string_view address, std::uint16_t port) noexcept {
    if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
        address = address.substr(1, address.size() - 2);
    // A zone is for IPv6 only: inet_pton(AF_INET) below never sees one.
    unsigned scope_id = 0;
    if (std::size_t percent = address.find('%'); percent != std::string_view::npos) {
        if (address.find(':') == std::string_view::npos) return std::nullopt;
        scope_id = scope_id_of(address.substr(percent + 1));
        if (scope_id == 0) return std::nullopt;
        address = address.substr(0, percent);
    }
    char text[INET6_ADDRSTRLEN + 1];
    if (address.empty() || address.size() >= sizeof text) return std::nullopt;
    std::memcpy(text, address.data(), address.size());
    text[address.size()] = '\0';
    SocketAddress result;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage_);
    if (::inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        result.size_ = sizeof(sockaddr_in);
        return result;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage_);
    if (::inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        v6->sin6_scope_id = scope_id;
        result.size_ = sizeof(sockaddr_in6);
        return result;
    }
    return std::nullopt;
}

SocketAddress SocketAddress::ip(std::string_view address, std::uint16_t port) {
    if (auto parsed = try_ip(address, port)) return *parsed;
    throw IoError(EINVAL, "not a numeric IP address: '" + std::string(address) + "'");
}

SocketAddress SocketAddress::parse(std::string_view host_port) {
    std::size_t colon = host_port.rfind(':');
    if (colon == std::string_view::npos || colon + 1 == host_port.size())
        throw IoError(EINVAL, "expected host:port, got '" + std::string(host_port) + "'");
    std::string_view host = host_port.substr(0, colon);
    std::string_view port_text = host_port.substr(colon + 1);
    unsigned long port = 0;
    for (char c : port_text) {
        if (c < '0' || c > '9' || (port = port * 10 + static_cast<unsigned>(c - '0')) > 65535)
            throw IoError(EINVAL, "bad port in '" + std::string(host_port) + "'");
    }
    if (host.find(':') != std::string_view::npos && host.front() != '[')
        throw IoError(EINVAL, "IPv6 addresses need brackets: '" + std::string(host_port) + "'");
    return ip(host, static_cast<std::uint16_t>(port));
}

SocketAddress SocketAddress::loopback_v4(std::uint16_t port) noexcept {
    SocketAddress result;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage_);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    result.size_ = sizeof(sockaddr_in);
    return result;
}

SocketAddress SocketAddress::loopback_v6(std::uint16_t port) noexcept {
    SocketAddress result;
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage_);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    v6->sin6_addr = in6addr_loopback;
    result.size_ = sizeof(sockaddr_in6);
    return result;
}

SocketAddress SocketAddress::unix_path(std::string_view path) {
    SocketAddress result;
    auto* un = reinterpret_cast<sockaddr_un*>(&result.storage_);
    if (path.empty()) throw UsageError("weft::net: an empty Unix socket path");
    // (A NUL ends a path for the kernel: the socket would be bound at a shorter one. An
    // abstract name, "@..." here, may hold any byte.)
    if (path.front() != '@' && path.find('\0') != std::string_view::npos)
        throw UsageError("weft::net: the Unix socket path contains a NUL byte");
    // A path needs its terminating NUL in sun_path; an abstract name has none ('@' stands for
    // its leading NUL).
    const std::size_t room = path.front() == '@' ? sizeof un->sun_path : sizeof un->sun_path - 1;
    if (path.size() > room) throw IoError(ENAMETOOLONG, "Unix socket path '" + std::string(path) + "'");
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    if (path.front() == '@') {
        un->sun_path[0] = '\0';  // abstract: the length, not a terminator, ends the name
        result.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
    } else {
        result.size_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    }
    return result;
}

SocketAddress SocketAddress::from_native(const sockaddr* address, socklen_t size) noexcept {
    SocketAddress result;
    if (size > capacity()) size = capacity();
    std::memcpy(&result.storage_, address, size);
    result.size_ = size;
    return result;
}

std::uint16_t SocketAddress::port() const noexcept {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

std::string SocketAddress::ip_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text, sizeof text);
    } else if (family() == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&storage_);
        ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
        if (v6->sin6_scope_id != 0) {  // the zone, by name if the interface has one
            std::string zoned = text;
            char name[IF_NAMESIZE] = {};
            zoned += '%';
            zoned += ::if_indextoname(v6->sin6_scope_id, name) ? std::string(name) : std::to_string(v6->sin6_scope_id);
            return zoned;
        }
    }
    return text;
}

std::string SocketAddress::path() const {
    if (family() != AF_UNIX) return {};
    const auto* un = reinterpret_cast<const sockaddr_un*>(&storage_);
    std::size_t offset = offsetof(sockaddr_un, sun_path);
    if (size_ <= offset) return {};
    std::size_t length = size_ - offset;
    std::string result;
    if (un->sun_path[0] == '\0') {  // abstract
        result.reserve(length);
        result.push_back('@');
        result.append(un->sun_path + 1, length - 1);
    } else {
        result.assign(un->sun_path, ::strnlen(un->sun_path, length));
    }
    return result;
}

// Built with append(): g++-12's -Wrestrict misfires on `"[" + std::string(...)`.
std::string SocketAddress::to_string() const {
    std::string text;
    switch (family()) {
        case AF_INET:
            text = ip_string();
            text += ':';
            text += std::to_string(port());
            return text;
        case AF_INET6:
            text = "[";
            text += ip_string();
            text += "]:";
            text += std::to_string(port());
            return text;
        case AF_UNIX: {
            text = "unix:";
            std::string p = path();
            text += p.empty() ? std::string("(unnamed)") : p;
            return text;
        }
        default:
            return "(no address)";
    }
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
    return a.size_ == b.size_ && std::memcmp(&a.storage_, &b.storage_, a.size_) == 0;
}

}  // namespace weft::net
