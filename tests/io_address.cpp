// weft::net::SocketAddress: numeric parsing, formatting, comparison, errors.
#include <catch2/catch.hpp>

#include <cerrno>

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
