// weft::net::SocketAddress: an IPv4, IPv6 or Unix-domain socket address, by value.
//
//   auto a = weft::net::SocketAddress::ip("127.0.0.1", 8080);    // numeric only, no DNS
//   auto b = weft::net::SocketAddress::parse("[::1]:8080");
//   auto c = weft::net::SocketAddress::unix_path("/run/app.sock");
//   spdlog::info("listening on {}", a.to_string());               // "127.0.0.1:8080"
//
// Parsing failures throw weft::IoError with code() == EINVAL.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace weft::net {

class SocketAddress {
public:
    SocketAddress() noexcept = default;  // empty: family() == AF_UNSPEC

    /// A numeric IPv4 ("10.0.0.1") or IPv6 ("::1", "[::1]") address with a port. An IPv6
    /// address may name its zone (a link-local peer's interface): "fe80::1%eth0" or "fe80::1%2".
    static SocketAddress ip(std::string_view address, std::uint16_t port);
    static std::optional<SocketAddress> try_ip(std::string_view address, std::uint16_t port) noexcept;
    /// "host:port" with a numeric host; IPv6 in brackets: "[::1]:443".
    static SocketAddress parse(std::string_view host_port);
    static SocketAddress loopback_v4(std::uint16_t port) noexcept;
    static SocketAddress loopback_v6(std::uint16_t port) noexcept;
    /// A filesystem path; a leading '@' names an abstract socket (Linux). Empty, or a path
    /// with a NUL byte: UsageError; too long for sockaddr_un: IoError ENAMETOOLONG.
    static SocketAddress unix_path(std::string_view path);
    static SocketAddress from_native(const sockaddr* address, socklen_t size) noexcept;

    int family() const noexcept { return storage_.ss_family; }
    bool is_ip() const noexcept { return family() == AF_INET || family() == AF_INET6; }
    std::uint16_t port() const noexcept;  // 0 unless IP
    std::string ip_string() const;        // "127.0.0.1", "::1", "fe80::1%eth0"; empty unless IP
    std::string path() const;             // Unix only ('@' first for abstract names)
    /// "127.0.0.1:80", "[::1]:80", "unix:/path", "unix:@name", "unix:(unnamed)".
    std::string to_string() const;

    const sockaddr* native() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t native_size() const noexcept { return size_; }
    // For syscalls that fill an address in (accept, recvfrom, getsockname).
    sockaddr* native_buffer() noexcept { return reinterpret_cast<sockaddr*>(&storage_); }
    static constexpr socklen_t capacity() noexcept { return sizeof(sockaddr_storage); }
    void set_native_size(socklen_t size) noexcept { size_ = size; }

    friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

private:
    sockaddr_storage storage_{};
    socklen_t size_ = 0;
};

}  // namespace weft::net
