// weft::resolve on the blocking pool: localhost resolves to loopback addresses with the
// port filled in; numeric hosts need no lookup; an invalid name is a ResolveError; the
// result plugs into TcpStream::connect.
#include <catch2/catch.hpp>

#include <weft/weft.hpp>

#include <netdb.h>

#include <string>
#include <vector>

namespace {

weft::Task<std::vector<std::string>> resolve_strings(std::string host, std::uint16_t port) {
    std::vector<std::string> out;
    for (const auto& address : co_await weft::resolve(std::move(host), port)) out.push_back(address.to_string());
    co_return out;
}

weft::Task<int> resolve_failure(std::string host) {
    try {
        (void)co_await weft::resolve(std::move(host), 80);
    } catch (const weft::ResolveError& e) {
        co_return e.code();
    }
    co_return 0;
}

}  // namespace

TEST_CASE("resolve of localhost gives loopback addresses", "[io][resolve]") {
    auto addresses = weft::run(resolve_strings("localhost", 8080));
    REQUIRE_FALSE(addresses.empty());
    for (const auto& address : addresses) {
        INFO(address);
        REQUIRE((address == "127.0.0.1:8080" || address == "[::1]:8080"));
    }
}

TEST_CASE("resolve of a numeric host needs no lookup", "[io][resolve]") {
    REQUIRE(weft::run(resolve_strings("10.1.2.3", 443)) == std::vector<std::string>{"10.1.2.3:443"});
    REQUIRE(weft::run(resolve_strings("::1", 53)) == std::vector<std::string>{"[::1]:53"});
}

TEST_CASE("a resolved address connects to a local listener", "[io][resolve]") {
    bool connected = weft::run([]() -> weft::Task<bool> {
        auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress::loopback_v4(0));
        auto addresses = co_await weft::resolve("127.0.0.1", listener.local_address().port());
        auto accepting = weft::spawn(listener.accept());
        auto client = co_await weft::net::TcpStream::connect(addresses.front());
        auto server = co_await accepting;
        co_return true;
    }());
    REQUIRE(connected);
}

TEST_CASE("an unresolvable name is a ResolveError", "[io][resolve]") {
    // ".invalid" is reserved (RFC 2606): it never resolves, with or without a network.
    int code = weft::run(resolve_failure("no-such-host.invalid"));
    REQUIRE(code != 0);
    REQUIRE(code != EAI_SYSTEM);
}
