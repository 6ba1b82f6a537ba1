#include <weft/resolve.hpp>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <utility>

#include <weft/io_error.hpp>
#include <weft/offload.hpp>

namespace weft {

namespace {

// Runs on a blocking-pool thread.
std::vector<net::SocketAddress> resolve_blocking(const std::string& host, const std::string& service,
                                                 ResolveOptions options) {
    addrinfo hints{};
    hints.ai_family = options.family;
    hints.ai_socktype = options.socktype;
    hints.ai_flags = options.flags;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) {
        std::string what = "weft::resolve '" + host + "' (service '" + service + "')";
        if (rc == EAI_SYSTEM) throw_io_error(errno, what);
        throw ResolveError(rc, what + ": " + ::gai_strerror(rc));
    }
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> owner(found, ::freeaddrinfo);
    std::vector<net::SocketAddress> out;
    for (const addrinfo* a = found; a; a = a->ai_next) {
        if (!a->ai_addr) continue;
        auto address = net::SocketAddress::from_native(a->ai_addr, a->ai_addrlen);
        if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);  // one per socktype
    }
    return out;
}

}  // namespace

Task<std::vector<net::SocketAddress>> resolve(std::string host, std::string service, ResolveOptions options) {
    co_return co_await offload(
        [](const std::string& h, const std::string& s, ResolveOptions o) { return resolve_blocking(h, s, o); },
        std::move(host), std::move(service), options);
}

Task<std::vector<net::SocketAddress>> resolve(std::string host, std::uint16_t port, ResolveOptions options) {
    co_return co_await resolve(std::move(host), std::to_string(port), options);
}

}  // namespace weft
