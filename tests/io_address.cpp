// weft::net::SocketAddress: numeric parsing, formatting, comparison, errors.
#include <catch2/catch.hpp>

#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cerrno>
#include <string>

#include <weft/io_error.hpp>
#include <weft/net/address.hpp>

using weft::net::SocketAddress;

TEST_CASE("io_address: parse and format IPv4, IPv6 and Unix addresses", "[io][address]") {
    CHECK(SocketAddress::ip("127.0.0.1", 80).to_string() == "127.0.0.1:80");
    CHECK(SocketAddress::parse("10.1.2.3:65535").port() == 65535);
    CHECK(SocketAddress::parse("[::1]:8080").to_string() == "[::1]:8080");
    CHECK(SocketAddress::ip("[::1]", 1) == SocketAddress::loopback_v6(1));
    CHECK(SocketAddress::ip("127.0.0.1", 9) == SocketAddress::loopback_v4(9));
    CHECK(SocketAddress::ip("127.0.0.1", 9) != SocketAddress::loopback_v4(10));
    CHECK(SocketAddress::parse("127.0.0.1:9").ip_string() == "127.0.0.1");
    CHECK(SocketAddress::unix_path("/tmp/x.sock").to_string() == "unix:/tmp/x.sock");
    CHECK(SocketAddress::unix_path("@name").path() == "@name");
    CHECK(SocketAddress().family() == AF_UNSPEC);
}

TEST_CASE("io_address: bad input throws IoError(EINVAL)", "[io][address]") {
    for (const char* bad : {"localhost:80", "1.2.3.4", "1.2.3.4:", "1.2.3.4:70000", "::1:80", "1.2.3.4:8x"}) {
        CAPTURE(bad);
        try {
            SocketAddress::parse(bad);
            FAIL("parsed");
        } catch (const weft::IoError& e) {
            CHECK(e.code() == EINVAL);
        }
    }
    CHECK_FALSE(SocketAddress::try_ip("example.com", 1).has_value());
}

TEST_CASE("io_address: IPv6 scope ids, by interface name or number, kept and printed", "[io][address]") {
    // "lo" exists on every Linux machine; a link-local peer is named with its interface.
    const unsigned lo = ::if_nametoindex("lo");
    REQUIRE(lo != 0);
    auto named = SocketAddress::parse("[fe80::1%lo]:80");
    CHECK(reinterpret_cast<const sockaddr_in6*>(named.native())->sin6_scope_id == lo);
    CHECK(named.to_string() == "[fe80::1%lo]:80");
    CHECK(named.ip_string() == "fe80::1%lo");
    auto numbered = SocketAddress::ip("fe80::1%" + std::to_string(lo), 80);
    CHECK(numbered == named);
    CHECK(SocketAddress::ip("fe80::1", 80) != named);  // the scope is part of the address
    CHECK(SocketAddress::ip("[fe80::1%lo]", 80) == named);
    // An unknown interface, an empty scope, or a scope on IPv4: not an address.
    for (const char* bad : {"fe80::1%no-such-if0", "fe80::1%", "127.0.0.1%lo"}) {
        CAPTURE(bad);
        CHECK_FALSE(SocketAddress::try_ip(bad, 1).has_value());
    }
}

TEST_CASE("io_address: an abstract Unix name may use all of sun_path", "[io][address]") {
    // '@' stands for the leading NUL: no terminator follows an abstract name.
    const std::size_t room = sizeof(sockaddr_un{}.sun_path);
    std::string longest = "@" + std::string(room - 1, 'a');
    CHECK(SocketAddress::unix_path(longest).path() == longest);
    CHECK_THROWS_AS(SocketAddress::unix_path(longest + "a"), weft::IoError);
    std::string path = "/" + std::string(room - 2, 'p');  // a path needs its terminator
    CHECK(SocketAddress::unix_path(path).path() == path);
    CHECK_THROWS_AS(SocketAddress::unix_path(path + "p"), weft::IoError);
}
