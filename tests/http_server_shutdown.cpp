// weft::http::Server under a graceful stop and under a slowloris: a request in progress
// finishes, idle connections close, new ones are refused; 1,000 connections sending their
// heads byte by byte do not hold up another client, and each is answered in the end.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <weft/event.hpp>
#include <weft/http/server.hpp>
#include <weft/io_error.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/run.hpp>
#include <weft/shutdown.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include "support/http_server.hpp"
#include "support/io.hpp"

using namespace std::chrono_literals;
using weft::http::Request;
using weft::http::Response;
using weft::http::Router;
using weft::net::TcpStream;

namespace {

weft::Task<std::string> read_to_end(TcpStream& s) {
    std::string got;
    char buf[4096];
    try {
        while (std::size_t n = co_await s.read(buf, sizeof buf)) got.append(buf, n);
    } catch (const weft::IoError&) {
    }
    co_return got;
}

// Reads one response with a Content-Length body.
weft::Task<std::string> read_response(TcpStream& s) {
    std::string got;
    char buf[4096];
    for (;;) {
        auto r = test::split_responses(got);
        if (!r.empty() && got.find("\r\n\r\n") != std::string::npos) {
            auto at = got.find("Content-Length: ");
            std::size_t length = std::stoul(got.substr(at + 16));
            if (got.size() >= got.find("\r\n\r\n") + 4 + length) co_return got;
        }
        std::size_t n = co_await s.read(buf, sizeof buf);
        if (n == 0) co_return got;
        got.append(buf, n);
    }
}

}  // namespace

TEST_CASE("http_server shutdown: in-flight requests finish, idle connections close, new ones are refused",
          "[http][server][shutdown]") {
    for (int round = 0; round < 10; ++round) {
        auto [in_flight, idle_rest, refused, clean, late_connections] = weft::run(
            []() -> weft::Task<std::tuple<std::string, std::string, bool, bool, std::size_t>> {
                weft::Event started, release;
                Router router;
                router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
                router.get("/slow", [&](Request&) -> weft::Task<Response> {
                    started.set();
                    co_await release.wait();
                    co_return Response::text("finished");
                });
                weft::http::Server server(std::move(router), {.graceful_timeout = 60s});
                server.listen(weft::net::SocketAddress::ip("127.0.0.1", 0));
                std::uint16_t port = server.local_address().port();
                weft::Shutdown shutdown;
                shutdown.spawn(server.serve(), "http");

                auto busy = co_await TcpStream::connect("127.0.0.1", port);
                co_await busy.write_all("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
                co_await started.wait();
                auto idle = co_await TcpStream::connect("127.0.0.1", port);
                co_await idle.write_all("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
                std::string first = co_await read_response(idle);  // now idle, kept alive

                auto stopping = weft::spawn(shutdown.run(120s));
                std::string idle_rest = co_await read_to_end(idle);  // closed without a byte
                // Closing idle connections comes after the listeners closed: refused now.
                bool refused = co_await test::throws<weft::ConnectionRefused>(TcpStream::connect("127.0.0.1", port));
                release.set();
                std::string in_flight = co_await read_to_end(busy);
                busy.close();
                weft::ShutdownReport report = co_await stopping;
                co_return std::tuple{in_flight, first.find("Hello") != std::string::npos ? idle_rest : "no first",
                                     refused, report.clean(), server.connections()};
            }(),
            {.workers = 2});
        CHECK(in_flight.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
        CHECK(in_flight.find("Connection: close\r\n") != std::string::npos);
        CHECK(test::body_of(in_flight) == "finished");
        CHECK(idle_rest.empty());
        CHECK(refused);
        CHECK(clean);
        CHECK(late_connections == 0);
    }
}

TEST_CASE("http_server shutdown: a request past graceful_timeout is cancelled", "[http][server][shutdown]") {
    auto [out, clean] = weft::run(
        []() -> weft::Task<std::pair<std::string, bool>> {
            weft::Event started, never;
            Router router;
            router.get("/stuck", [&](Request&) -> weft::Task<Response> {
                started.set();
                co_await never.wait();
                co_return Response::text("unreachable");
            });
            weft::http::Server server(std::move(router), {.graceful_timeout = 3s});
            server.listen(weft::net::SocketAddress::ip("127.0.0.1", 0));
            weft::Shutdown shutdown;
            shutdown.spawn(server.serve(), "http");
            auto s = co_await TcpStream::connect("127.0.0.1", server.local_address().port());
            co_await s.write_all("GET /stuck HTTP/1.1\r\nHost: t\r\n\r\n");
            co_await started.wait();
            weft::ShutdownReport report = co_await shutdown.run(10s);
            std::string rest = co_await read_to_end(s);
            co_return std::pair{rest, report.clean()};
        }(),
        {.workers = 1, .virtual_time = true});
    CHECK(out.empty());  // cancelled: closed without an answer
    CHECK(clean);
}

TEST_CASE("http_server slowloris: 1,000 connections sending byte by byte do not stop another client",
          "[http][server][slowloris]") {
    constexpr int kSlow = 1000;
    if (test::raise_fd_limit() < 2 * kSlow + 100) {
        WARN("RLIMIT_NOFILE too low for 1,000 connections: skipped");
        return;
    }
    auto [normal, answered, open_while_slow] = weft::run(
        []() -> weft::Task<std::tuple<std::string, int, std::size_t>> {
            Router router;
            router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
            weft::http::Server server(std::move(router), {.header_read_timeout = 600s});
            server.listen(weft::net::SocketAddress::ip("127.0.0.1", 0));
            std::uint16_t port = server.local_address().port();
            auto serving = weft::spawn(server.serve());

            std::vector<TcpStream> slow;
            const std::string head = "GET / HTTP/1.1\r\nHost: slow\r\nX-Drip: abcdefgh\r\n";
            for (int i = 0; i < kSlow; ++i) {
                slow.push_back(co_await TcpStream::connect("127.0.0.1", port));
                slow.back().set_nodelay(true);
            }
            // Each sends its head one byte at a time, round-robin, never finishing it.
            for (char c : head)
                for (auto& s : slow) co_await s.write_all(&c, 1);
            // Every slow connection has been accepted and is held by the server (its task waits
            // for the rest of its head)...
            while (server.connections() < static_cast<std::size_t>(kSlow)) co_await weft::yield_now();
            std::size_t open = server.connections();
            // ...and a normal client is served meanwhile.
            std::string normal =
                co_await test::exchange(port, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            // Then every slow client finishes its head and gets its answer.
            int answered = 0;
            for (auto& s : slow) co_await s.write_all("Connection: close\r\n\r\n");
            for (auto& s : slow) {
                std::string got = co_await read_to_end(s);
                s.close();
                if (got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0 && test::body_of(got) == "Hello, World!") ++answered;
            }
            serving.cancel();
            try {
                co_await serving;
            } catch (const weft::CancelledError&) {
            }
            co_return std::tuple{normal, answered, open};
        }(),
        {.workers = 2});
    CHECK(test::body_of(normal) == "Hello, World!");
    CHECK(answered == kSlow);
    CHECK(open_while_slow == static_cast<std::size_t>(kSlow));
}
