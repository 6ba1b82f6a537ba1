// weft::net::UdpSocket: datagram round trips on loopback with sender addresses, truncation,
// and a recv_from cancelled by a timeout that loses no datagram.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/net/udp_socket.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>

#include "support/clock.hpp"
#include "support/io.hpp"

using namespace std::chrono_literals;
using weft::net::Datagram;
using weft::net::SocketAddress;
using weft::net::UdpSocket;

TEST_CASE("io_udp: datagrams go both ways, whole, with the sender's address", "[io][udp]") {
    weft::run([]() -> weft::Task<void> {
        auto a = UdpSocket::bind(SocketAddress::loopback_v4(0));
        auto b = UdpSocket::bind(SocketAddress::loopback_v4(0));
        char buf[2048];
        for (std::size_t size : {1u, 100u, 1400u}) {
            std::string out = test::pattern(static_cast<std::uint32_t>(size), size);
            auto got1 = co_await a.send_to(out.data(), out.size(), b.local_address());
            CHECK(got1 == size);
            Datagram d = co_await b.recv_from(buf, sizeof buf);
            CHECK(d.size == size);
            CHECK(!d.truncated);
            CHECK(d.from == a.local_address());
            CHECK(std::string(buf, d.size) == out);
            co_await b.send_to(buf, d.size, d.from);  // echo it back
            Datagram back = co_await a.recv_from(buf, sizeof buf);
            CHECK(back.from == b.local_address());
            CHECK(std::string(buf, back.size) == out);
        }
    }());
}

TEST_CASE("io_udp: a connected socket sends to its peer, hears only its peer, and sees ICMP refusals", "[io][udp]") {
    weft::run([]() -> weft::Task<void> {
        auto server = UdpSocket::bind(SocketAddress::loopback_v4(0));
        auto stranger = UdpSocket::bind(SocketAddress::loopback_v4(0));
        auto client = UdpSocket::connect(server.local_address());  // asyncio's remote_addr=
        CHECK(client.peer_address() == server.local_address());
        char buf[64];
        auto sent = co_await client.send("ping", 4);
        CHECK(sent == 4);
        Datagram request = co_await server.recv_from(buf, sizeof buf);
        CHECK(std::string(buf, request.size) == "ping");
        CHECK(request.from == client.local_address());
        // A datagram from anyone but the peer is dropped by the kernel: the next one heard is
        // the server's, though the stranger's was sent first.
        co_await stranger.send_to("intruder", 8, client.local_address());
        co_await server.send_to("pong", 4, request.from);
        Datagram reply = co_await client.recv(buf, sizeof buf);
        CHECK(std::string(buf, reply.size) == "pong");
        CHECK(reply.from == server.local_address());
        // A closed port answers with ICMP port unreachable: a connected socket's next recv
        // raises ConnectionRefused (an unconnected one would never hear of it).
        SocketAddress gone = stranger.local_address();
        stranger.close();
        auto lonely = UdpSocket::connect(gone);
        co_await lonely.send("anyone?", 7);
        bool refused = false;
        try {
            co_await lonely.recv(buf, sizeof buf);
        } catch (const weft::ConnectionRefused&) {
            refused = true;
        }
        CHECK(refused);
    }());
    CHECK_THROWS_AS(UdpSocket::connect(SocketAddress::unix_path("/tmp/x")), weft::IoError);
}

TEST_CASE("io_udp: a short buffer truncates the datagram and says so", "[io][udp]") {
    weft::run([]() -> weft::Task<void> {
        auto a = UdpSocket::bind(SocketAddress::loopback_v4(0));
        auto b = UdpSocket::bind(SocketAddress::loopback_v4(0));
        std::string out = test::pattern(3, 100);
        co_await a.send_to(out.data(), out.size(), b.local_address());
        char buf[10];
        Datagram d = co_await b.recv_from(buf, sizeof buf);
        CHECK(d.truncated);
        CHECK(d.size == 10);
        CHECK(std::string(buf, 10) == out.substr(0, 10));
    }());
}

TEST_CASE("io_udp: a recv_from cancelled by a timeout loses no datagram", "[io][udp]") {
    weft::run(
        []() -> weft::Task<void> {
            auto a = UdpSocket::bind(SocketAddress::loopback_v4(0));
            auto b = UdpSocket::bind(SocketAddress::loopback_v4(0));
            char buf[64];
            {
                auto deadline = weft::timeout(10ms);
                bool threw2 = co_await test::throws<weft::TimeoutError>(b.recv_from(buf, sizeof buf));
                CHECK(threw2);
            }
            co_await a.send_to("late", 4, b.local_address());
            Datagram d = co_await b.recv_from(buf, sizeof buf);
            CHECK(std::string(buf, d.size) == "late");
        }(),
        test::paused_clock());
}

TEST_CASE("io_udp: the addresses of a socket never opened are a UsageError, as every other call on it", "[io][udp]") {
    // (getsockname on fd -1 used to surface as IoError EBADF.)
    CHECK_THROWS_AS(UdpSocket{}.local_address(), weft::UsageError);
    CHECK_THROWS_AS(weft::net::UnixListener{}.local_address(), weft::UsageError);
    CHECK_THROWS_AS(weft::net::TcpListener{}.local_address(), weft::UsageError);
    CHECK_THROWS_AS(weft::net::TcpStream{}.peer_address(), weft::UsageError);
}
