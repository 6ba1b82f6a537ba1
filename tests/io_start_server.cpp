// start_server / open_connection: weft clients against a weft server (exact counts), the
// Server's close / wait_closed / serve_forever, and bad input.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/open_connection.hpp>
#include <weft/net/start_server.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/resolve.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>

#include "support/clock.hpp"
#include "support/io.hpp"

using namespace std::chrono_literals;
using weft::net::Server;
using weft::net::TcpReader;
using weft::net::TcpWriter;

namespace {

weft::Task<void> echo_lines(TcpReader reader, TcpWriter writer) {
    while (auto line = co_await reader.read_line()) {
        writer.write(*line + "\n");
        co_await writer.drain();
    }
    writer.close();
    co_await writer.wait_closed();
}

weft::Task<int> client(std::uint16_t port, int id, int lines) {
    auto [reader, writer] = co_await weft::net::open_connection("127.0.0.1", port);
    int good = 0;
    for (int i = 0; i < lines; ++i) {
        std::string sent = "client " + std::to_string(id) + " line " + std::to_string(i);
        writer.write(sent + "\r\n");
        co_await writer.drain();
        auto back = co_await reader.read_line();
        if (back && *back == sent) ++good;
    }
    writer.close();
    auto end = co_await reader.read_line();
    if (end) --good;  // the server must end the stream after ours
    co_return good;
}

}  // namespace

TEST_CASE("io_start_server: many open_connection clients against a start_server echo", "[io][start_server]") {
    constexpr int kClients = 24;
    constexpr int kLines = 150;
    weft::run(
        []() -> weft::Task<void> {
            Server server = co_await weft::net::start_server(echo_lines, "127.0.0.1", 0);
            CHECK(server.port() != 0);
            CHECK(server.is_serving());
            std::vector<weft::JoinHandle<int>> clients;
            for (int c = 0; c < kClients; ++c) clients.push_back(weft::spawn(client(server.port(), c, kLines)));
            int good = 0;
            for (auto& c : clients) good += co_await c;
            CHECK(good == kClients * kLines);
            server.close();
            CHECK(!server.is_serving());
            co_await weft::wait_for(server.wait_closed(), 30s);
            CHECK(server.active_connections() == 0);
            bool refused = co_await test::throws<weft::ConnectionRefused>(
                weft::net::TcpStream::connect("127.0.0.1", server.port()));
            CHECK(refused);
        }(),
        {.workers = 4});
}

TEST_CASE("io_start_server: wait_closed waits for the connections still open", "[io][start_server]") {
    weft::run([]() -> weft::Task<void> {
        Server server = co_await weft::net::start_server(echo_lines, "127.0.0.1", 0);
        auto [reader, writer] = co_await weft::net::open_connection("localhost", server.port());  // by name
        writer.write("before\n");
        auto l1 = co_await reader.read_line();
        CHECK(l1 == "before");
        CHECK(server.active_connections() == 1);
        server.close();
        auto closed = weft::spawn(server.wait_closed());
        writer.write("after close\n");  // the accepted connection runs on
        auto l2 = co_await reader.read_line();
        CHECK(l2 == "after close");
        CHECK(!closed.is_done());  // its handler is still running
        writer.close();            // the handler sees the end and returns
        auto l3 = co_await reader.read_line();
        CHECK(!l3);
        co_await weft::wait_for(std::move(closed), 30s);
        CHECK(server.active_connections() == 0);
    }());
}

TEST_CASE("io_start_server: serve_forever returns on close(), cancelling it closes the server", "[io][start_server]") {
    weft::run([]() -> weft::Task<void> {
        Server server = co_await weft::net::start_server(echo_lines, "127.0.0.1", 0);
        auto serving = weft::spawn(server.serve_forever());
        auto [reader, writer] = co_await weft::net::open_connection("127.0.0.1", server.port());
        writer.write("ping\n");
        auto l1 = co_await reader.read_line();
        CHECK(l1 == "ping");
        server.close();
        co_await weft::wait_for(std::move(serving), 30s);  // returned normally
        bool closed = co_await test::throws<weft::UsageError>(server.serve_forever());
        CHECK(closed);
        writer.close();
        co_await server.wait_closed();
    }());
    weft::run(
        []() -> weft::Task<void> {
            Server server = co_await weft::net::start_server(echo_lines, "127.0.0.1", 0);
            bool timed_out = co_await test::throws<weft::TimeoutError>(weft::wait_for(server.serve_forever(), 1s));
            CHECK(timed_out);  // serve_forever saw the cancellation...
            CHECK(!server.is_serving());  // ...and closed the server
            co_await server.wait_closed();
        }(),
        test::paused_clock());
}

TEST_CASE("io_start_server: bad input raises clear errors", "[io][start_server]") {
    weft::run([]() -> weft::Task<void> {
        bool empty = co_await test::throws<weft::UsageError>(weft::net::start_server({}, "127.0.0.1", 0));
        CHECK(empty);
        bool unknown =
            co_await test::throws<weft::ResolveError>(weft::net::start_server(echo_lines, "no-such-host.invalid", 0));
        CHECK(unknown);
        bool no_listener = co_await test::throws<weft::ConnectionRefused>([]() -> weft::Task<void> {
            auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress::ip("127.0.0.1", 0));
            std::uint16_t port = listener.local_address().port();
            listener.close();
            co_await weft::net::open_connection("127.0.0.1", port);
        }());
        CHECK(no_listener);
        Server none;
        CHECK(!none.is_serving());
        bool unstarted = co_await test::throws<weft::UsageError>(none.wait_closed());
        CHECK(unstarted);
    }());
}

TEST_CASE("io_start_server: a port already in use is an IoError (EADDRINUSE), not a shared port",
          "[io][start_server]") {
    weft::run([]() -> weft::Task<void> {
        Server first = co_await weft::net::start_server(echo_lines, "127.0.0.1", 0);
        const std::uint16_t port = first.port();
        int code = 0;
        try {
            Server second = co_await weft::net::start_server(echo_lines, "127.0.0.1", port);
            second.close();
        } catch (const weft::IoError& e) {
            code = e.code();
        }
        CHECK(code == EADDRINUSE);
        // A plain listener that holds the port blocks it too.
        auto plain = weft::net::TcpListener::bind(weft::net::SocketAddress::ip("127.0.0.1", 0));
        code = 0;
        try {
            Server third = co_await weft::net::start_server(echo_lines, "127.0.0.1", plain.local_address().port());
            third.close();
        } catch (const weft::IoError& e) {
            code = e.code();
        }
        CHECK(code == EADDRINUSE);
        // The first server still answers.
        const int good = co_await client(port, 1, 3);
        CHECK(good == 3);
        first.close();
        co_await first.wait_closed();
    }());
}
