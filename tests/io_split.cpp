// into_split: the read half in one task and the write half in another, at the same time on
// different workers (full duplex: each side sends more than the socket buffers hold while
// it receives, which deadlocks unless both directions run at once; TSan checks the
// descriptor's two directions); closing the write half sends end of stream and the read half
// still reads the reply; a closed half is a UsageError.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/split.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

#include "support/io.hpp"

using weft::net::ReadHalf;
using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpStream;
using weft::net::WriteHalf;

namespace {

weft::Task<std::string> receive_all(ReadHalf<TcpStream> reader, std::size_t expected) {
    std::string got;
    got.reserve(expected);
    char buf[16384];
    for (;;) {
        std::size_t n = co_await reader.read(buf, sizeof buf);
        if (n == 0) break;
        got.append(buf, n);
    }
    co_return got;
}

weft::Task<void> send_all(WriteHalf<TcpStream> writer, const std::string& data) {
    for (std::size_t i = 0; i < data.size(); i += 100000) {
        std::size_t size = std::min<std::size_t>(100000, data.size() - i);
        co_await writer.write_all(data.data() + i, size);
    }
    writer.close();  // end of stream for the peer
}

// One side: its halves in two tasks; returns what it received.
weft::Task<std::string> duplex(TcpStream stream, const std::string& out, std::size_t in_size) {
    auto [reader, writer] = weft::net::into_split(std::move(stream));
    auto receiving = weft::spawn(receive_all(std::move(reader), in_size), "read half");
    auto sending = weft::spawn(send_all(std::move(writer), out), "write half");
    std::string got = co_await receiving;
    co_await sending;
    co_return got;
}

}  // namespace

TEST_CASE("io_split: the two halves in two tasks carry full duplex traffic", "[io][split]") {
    constexpr int kRounds = 6;
    const std::string a_to_b = test::pattern(11, 6 << 20);
    const std::string b_to_a = test::pattern(12, 5 << 20);
    for (int round = 0; round < kRounds; ++round) {
        auto [at_a, at_b] = weft::run(
            [](const std::string& a_to_b,
               const std::string& b_to_a) -> weft::Task<std::pair<std::string, std::string>> {
                auto listener = TcpListener::bind(SocketAddress::ip("127.0.0.1", 0));
                auto accepting = weft::spawn(listener.accept());
                TcpStream a = co_await TcpStream::connect(listener.local_address());
                TcpStream b = co_await accepting;
                auto side_a = weft::spawn(duplex(std::move(a), a_to_b, b_to_a.size()), "side a");
                auto side_b = weft::spawn(duplex(std::move(b), b_to_a, a_to_b.size()), "side b");
                std::string at_a = co_await side_a;
                std::string at_b = co_await side_b;
                co_return std::pair{std::move(at_a), std::move(at_b)};
            }(a_to_b, b_to_a),
            {.workers = 4});
        INFO("round " << round);
        CHECK(at_a.size() == b_to_a.size());
        CHECK(at_b.size() == a_to_b.size());
        CHECK(at_a == b_to_a);
        CHECK(at_b == a_to_b);
    }
}

TEST_CASE("io_split: closing the write half ends the peer's stream, the read half reads the reply", "[io][split]") {
    weft::run([]() -> weft::Task<void> {
        auto listener = TcpListener::bind(SocketAddress::ip("127.0.0.1", 0));
        auto server = weft::spawn([](TcpListener& listener) -> weft::Task<void> {
            TcpStream s = co_await listener.accept();
            std::string request;
            char buf[256];
            while (std::size_t n = co_await s.read(buf, sizeof buf)) request.append(buf, n);  // until end of stream
            co_await s.write_all("got " + std::to_string(request.size()) + " bytes: " + request);
        }(listener));
        auto [reader, writer] = weft::net::into_split(co_await TcpStream::connect(listener.local_address()));
        co_await writer.write_all(std::string_view("question"));
        writer.close();
        CHECK(!writer.is_open());
        CHECK(reader.is_open());  // the stream lives on in the read half
        std::string reply;
        char buf[256];
        while (std::size_t n = co_await reader.read(buf, sizeof buf)) reply.append(buf, n);
        CHECK(reply == "got 8 bytes: question");
        co_await server;
        // (A closed half throws at the call, before any await.)
        bool usage = co_await test::throws<weft::UsageError>(
            [&]() -> weft::Task<void> { co_await writer.write_all(std::string_view("x")); }());
        CHECK(usage);
        reader.close();
        bool usage2 =
            co_await test::throws<weft::UsageError>([&]() -> weft::Task<void> { co_await reader.read(buf, 1); }());
        CHECK(usage2);
    }());
}
