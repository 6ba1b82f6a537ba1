// weft::resolve(host, port): DNS and /etc/hosts through getaddrinfo, run on the blocking pool
// (asyncio's loop.getaddrinfo). Resumes on a worker loop.
//
//   auto addresses = co_await weft::resolve("example.com", 443);   // IPv6 and IPv4, in order
//   auto stream = co_await weft::net::TcpStream::connect(addresses.front());
//   auto udp = co_await weft::resolve("ntp.example", 123, {.socktype = SOCK_DGRAM});
//
// Results come in getaddrinfo's order (RFC 6724 preference), without duplicates; numeric
// hosts resolve without any lookup. A failed lookup throws weft::ResolveError carrying
// getaddrinfo's EAI_* code and message ("Name or service not known"); a system failure behind
// it (EAI_SYSTEM) throws weft::IoError with the errno. Cancelling the awaiting task stops the
// wait at once; the lookup itself cannot be interrupted and finishes on its pool thread, its
// result dropped (offload.hpp).
#pragma once

#include <netdb.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include <weft/error.hpp>
#include <weft/net/address.hpp>
#include <weft/task.hpp>

namespace weft {

struct ResolveOptions {
    int family = AF_UNSPEC;      // or AF_INET, AF_INET6
    int socktype = SOCK_STREAM;  // SOCK_DGRAM for UDP; 0: any kind
    int flags = 0;               // AI_* flags, e.g. AI_PASSIVE for a listening address
};

/// getaddrinfo failed: code() is its EAI_* value; what() names the host and gai_strerror().
class ResolveError : public Error {
public:
    ResolveError(int code, const std::string& message) : Error(message), code_(code) {}
    int code() const noexcept { return code_; }

private:
    int code_;
};

Task<std::vector<net::SocketAddress>> resolve(std::string host, std::uint16_t port, ResolveOptions options = {});
/// `service` may be a port number ("8080") or a name from /etc/services ("https").
Task<std::vector<net::SocketAddress>> resolve(std::string host, std::string service, ResolveOptions options = {});

}  // namespace weft
