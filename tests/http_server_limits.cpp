// weft::http::Server's limits and timeouts: 431, 413, 400, 408 and closing, on raw sockets;
// the timeouts on the paused clock (the deadlines pass at once, in order).
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>

#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/http/server.hpp>
#include <weft/io_error.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/yield.hpp>

#include "support/clock.hpp"
#include "support/http_server.hpp"

using namespace std::chrono_literals;
using weft::http::Request;
using weft::http::Response;
using weft::http::Router;

namespace {

Router limit_routes() {
    Router router;
    router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
    router.post("/echo", [](Request& req) -> weft::Task<Response> {
        std::string_view body = co_await req.body();
        co_return Response::text(std::string(body));
    });
    router.post("/count", [](Request& req) -> weft::Task<Response> {
        std::size_t total = 0;
        for (;;) {
            std::string_view piece = co_await req.read_some();
            if (piece.empty()) break;
            total += piece.size();
        }
        co_return Response::text(std::to_string(total));
    });
    return router;
}

// Routes whose handlers take a while (on the paused clock). `saw_timeout` counts the
// handlers that saw a TimeoutError go by.
Router slow_routes(std::atomic<int>* saw_timeout) {
    Router router;
    router.get("/sleep/{ms}", [saw_timeout](Request& req) -> weft::Task<Response> {
        const auto ms = std::stoll(std::string(req.path_param("ms")));
        try {
            co_await weft::sleep(std::chrono::milliseconds(ms));
        } catch (const weft::TimeoutError&) {
            saw_timeout->fetch_add(1);
            throw;
        }
        co_return Response::text("slept " + std::to_string(ms));
    });
    // Its own deadline, shorter than the server's: a handler failure (500), not the server's 503.
    router.get("/own-deadline", [](Request&) -> weft::Task<Response> {
        auto scope = weft::timeout(1s);
        co_await weft::sleep(1h);
        co_return Response::text("unreachable");
    });
    // Catches the server's deadline and answers anyway: its answer goes out.
    router.get("/catches", [](Request&) -> weft::Task<Response> {
        try {
            co_await weft::sleep(1h);
        } catch (const weft::TimeoutError&) {
            co_return Response::text("gave up", 504);
        }
        co_return Response::text("unreachable");
    });
    return router;
}

std::string status_line(std::string_view response) { return std::string(response.substr(0, response.find("\r\n"))); }

// Sends `request`, reads until the server closes (exchange() does), on the given options.
std::string answer(weft::http::ServerOptions options, std::string request) {
    return test::with_server(limit_routes(), options,
                             [request](std::uint16_t port) { return test::exchange(port, request); });
}

}  // namespace

TEST_CASE("http_server limits: a head over max_header_bytes is 431, then close", "[http][server][limits]") {
    std::string out =
        answer({.max_header_bytes = 1024},
               "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    CHECK(status_line(out) == "HTTP/1.1 431 Request Header Fields Too Large");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    CHECK(test::split_responses(out).size() == 1);
    // Just under the limit is fine.
    std::string ok =
        answer({.max_header_bytes = 1024},
               "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Big: " + std::string(900, 'a') + "\r\n\r\n");
    CHECK(status_line(ok) == "HTTP/1.1 200 OK");
}

TEST_CASE("http_server limits: a head arriving in pieces past max_header_bytes is 431", "[http][server][limits]") {
    std::string out = test::with_server(limit_routes(), {.max_header_bytes = 1024},
                                        [](std::uint16_t port) -> weft::Task<std::string> {
                                            auto s = co_await weft::net::TcpStream::connect("127.0.0.1", port);
                                            co_await s.write_all("GET / HTTP/1.1\r\nX-Big: ");
                                            std::string got;
                                            char buf[4096];
                                            try {
                                                // No blank line ever comes: the server must stop it.
                                                for (int i = 0; i < 64; ++i)
                                                    co_await s.write_all(std::string(100, 'b'));
                                            } catch (const weft::IoError&) {
                                            }
                                            try {
                                                while (std::size_t n = co_await s.read(buf, sizeof buf))
                                                    got.append(buf, n);
                                            } catch (const weft::IoError&) {
                                            }
                                            co_return got;
                                        });
    CHECK(status_line(out) == "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_CASE("http_server limits: more than max_headers fields is 431", "[http][server][limits]") {
    std::string headers;
    for (int i = 0; i < 11; ++i) headers += "X-" + std::to_string(i) + ": v\r\n";
    std::string out = answer({.max_headers = 10}, "GET / HTTP/1.1\r\nHost: t\r\n" + headers + "\r\n");
    CHECK(status_line(out) == "HTTP/1.1 431 Request Header Fields Too Large");
    std::string ok =
        answer({.max_headers = 13}, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers + "\r\n");
    CHECK(status_line(ok) == "HTTP/1.1 200 OK");
}

TEST_CASE("http_server limits: a Content-Length over max_body_bytes is 413 before the handler",
          "[http][server][limits]") {
    std::string out = answer({.max_body_bytes = 100}, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n");
    CHECK(status_line(out) == "HTTP/1.1 413 Content Too Large");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("http_server limits: a chunked body growing past max_body_bytes is 413", "[http][server][limits]") {
    std::string chunks;
    for (int i = 0; i < 11; ++i) chunks += "a\r\n0123456789\r\n";  // 110 bytes
    std::string out =
        answer({.max_body_bytes = 100},
               "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
    CHECK(status_line(out) == "HTTP/1.1 413 Content Too Large");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    // Streaming reads are held to the limit too.
    std::string streamed =
        answer({.max_body_bytes = 100},
               "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
    CHECK(status_line(streamed) == "HTTP/1.1 413 Content Too Large");
    std::string ok =
        answer({.max_body_bytes = 110},
               "POST /count HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks +
                   "0\r\n\r\n");
    CHECK(test::body_of(ok) == "110");
}

TEST_CASE("http_server limits: malformed requests are 400, then close", "[http][server][limits]") {
    CHECK(status_line(answer({}, "GARBAGE\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(answer({}, "GET / HTTP/1.1\r\nBad Header\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(answer({}, "GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")) ==
          "HTTP/1.1 400 Bad Request");
    std::string bad_chunk = answer({}, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    CHECK(status_line(bad_chunk) == "HTTP/1.1 400 Bad Request");
    CHECK(bad_chunk.find("Connection: close\r\n") != std::string::npos);
}

namespace {

// Sends `start` and nothing more; reads until the server closes. The answer, then "|1" if it
// came before the (paused) clock reached the 1 h header_read_timeout, "|0" if after.
std::string answer_to_partial_head(std::string start) {
    return test::with_server(
        limit_routes(), {.header_read_timeout = 1h},
        [start](std::uint16_t port) -> weft::Task<std::string> {
            auto s = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            auto begin = weft::now();
            co_await s.write_all(start);
            std::string got;
            char buf[4096];
            while (std::size_t n = co_await s.read(buf, sizeof buf)) got.append(buf, n);
            co_return got + "|" + std::to_string(test::ms_since(begin) < 1000);
        },
        test::paused_clock());
}

}  // namespace

TEST_CASE("http_server limits: bytes that cannot start a request line are 400 at once, not after the head timeout",
          "[http][server][limits]") {
    // A TLS ClientHello sent to a plain port (curl https://... to an http server): it has no
    // blank line, so the head never ends; nginx answers 400 at its first byte, as we must.
    const std::string hello("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
    for (const std::string& start : {hello, std::string("GET\x01/ HT"), std::string("\r\n\x16\x03")}) {
        std::string out = answer_to_partial_head(start);
        INFO("start of " << start.size() << " bytes");
        CHECK(status_line(out) == "HTTP/1.1 400 Bad Request");
        CHECK(out.substr(out.size() - 2) == "|1");
    }
    // A method still arriving is not refused early: it waits for the rest, then times out.
    std::string out = answer_to_partial_head("GE");
    CHECK(status_line(out) == "HTTP/1.1 408 Request Timeout");
    CHECK(out.substr(out.size() - 2) == "|0");
}

namespace {

// Sends one keep-alive GET / and reads its whole answer ("Hello, World!" ends it).
weft::Task<std::string> one_request(weft::net::TcpStream& s) {
    co_await s.write_all("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    std::string got;
    char buf[4096];
    while (got.find("Hello, World!") == std::string::npos) {
        std::size_t n = co_await s.read(buf, sizeof buf);
        if (n == 0) break;
        got.append(buf, n);
    }
    co_return got;
}

// True if the server closed `s` (end of stream or reset) without sending anything more.
weft::Task<bool> closed_by_server(weft::net::TcpStream& s) {
    char buf[256];
    try {
        co_return co_await s.read(buf, sizeof buf) == 0;
    } catch (const weft::IoError&) {
        co_return true;
    }
}

}  // namespace

TEST_CASE("http_server limits: at max_connections a new client closes the oldest idle keep-alive one",
          "[http][server][limits]") {
    // One worker: a connection's task marks itself idle before the client can run again. On the
    // paused clock, where the 1 h timeouts would close connections at once if nothing else did.
    std::string out = test::with_server(
        limit_routes(), {.header_read_timeout = 1h, .keep_alive_timeout = 1h, .max_connections = 2},
        [](std::uint16_t port) -> weft::Task<std::string> {
            auto first = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            auto second = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            std::string a = co_await one_request(first);
            std::string b = co_await one_request(second);
            auto third = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            std::string c = co_await one_request(third);
            auto begin = weft::now();
            bool first_closed = co_await closed_by_server(first);
            first_closed = first_closed && test::ms_since(begin) < 1000;  // not by the 1 h timeout
            std::string d = co_await one_request(second);  // the newer idle one was kept
            co_return status_line(a) + "|" + status_line(b) + "|" + status_line(c) + "|" +
                (first_closed ? "first closed|" : "first open|") + status_line(d);
        },
        test::paused_clock());
    CHECK(out == "HTTP/1.1 200 OK|HTTP/1.1 200 OK|HTTP/1.1 200 OK|first closed|HTTP/1.1 200 OK");
}

TEST_CASE("http_server limits: at max_connections with none idle a new client is refused, the busy ones finish",
          "[http][server][limits]") {
    auto release = std::make_shared<weft::Event>();
    auto started = std::make_shared<std::atomic<int>>(0);
    Router router = limit_routes();
    router.get("/hold", [release, started](Request&) -> weft::Task<Response> {
        started->fetch_add(1);
        co_await release->wait();
        co_return Response::text("held");
    });
    std::string out = test::with_server(
        std::move(router), {.header_read_timeout = 1h, .keep_alive_timeout = 1h, .max_connections = 1},
        [release, started](std::uint16_t port) -> weft::Task<std::string> {
            auto busy = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            co_await busy.write_all("GET /hold HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            while (started->load() < 1) co_await weft::yield_now();
            auto refused = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            auto begin = weft::now();
            bool was_refused = co_await closed_by_server(refused);
            was_refused = was_refused && test::ms_since(begin) < 1000;  // not by the 1 h timeout
            std::string log = was_refused ? "refused|" : "served|";
            release->set();
            std::string answer;
            char buf[4096];
            while (std::size_t n = co_await busy.read(buf, sizeof buf)) answer.append(buf, n);
            co_return log + test::body_of(answer);
        },
        test::paused_clock());
    CHECK(out == "refused|held");
}

TEST_CASE("http_server timeouts: a head not finished within header_read_timeout gets 408 and a close",
          "[http][server][limits]") {
    std::string out = test::with_server(
        limit_routes(), {.header_read_timeout = 5s},
        [](std::uint16_t port) -> weft::Task<std::string> {
            auto s = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            auto start = weft::now();
            co_await s.write_all("GET / HTTP/1.1\r\nHo");
            std::string got;
            char buf[4096];
            while (std::size_t n = co_await s.read(buf, sizeof buf)) got.append(buf, n);
            co_return got + "|" + std::to_string(test::ms_since(start) >= 5000);
        },
        test::paused_clock());
    CHECK(status_line(out) == "HTTP/1.1 408 Request Timeout");
    CHECK(out.substr(out.size() - 2) == "|1");
}

TEST_CASE("http_server timeouts: an idle keep-alive connection is closed after keep_alive_timeout",
          "[http][server][limits]") {
    std::string out = test::with_server(
        limit_routes(), {.header_read_timeout = 5s, .keep_alive_timeout = 30s},
        [](std::uint16_t port) -> weft::Task<std::string> {
            auto s = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            co_await s.write_all("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
            std::string got;
            char buf[4096];
            while (got.find("Hello, World!") == std::string::npos) {
                std::size_t n = co_await s.read(buf, sizeof buf);
                if (n == 0) co_return "closed early";
                got.append(buf, n);
            }
            auto idle_since = weft::now();
            std::size_t n = co_await s.read(buf, sizeof buf);  // nothing more: the close
            auto waited = test::ms_since(idle_since);
            co_return std::to_string(n) + " " + std::to_string(waited >= 30000 && waited < 31000);
        },
        test::paused_clock());
    CHECK(out == "0 1");
}

TEST_CASE("http_server timeouts: a body that stops arriving gets 408", "[http][server][limits]") {
    std::string out = test::with_server(
        limit_routes(), {.body_read_timeout = 7s},
        [](std::uint16_t port) -> weft::Task<std::string> {
            auto s = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            co_await s.write_all("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhalf!");
            std::string got;
            char buf[4096];
            while (std::size_t n = co_await s.read(buf, sizeof buf)) got.append(buf, n);
            co_return got;
        },
        test::paused_clock());
    CHECK(status_line(out) == "HTTP/1.1 408 Request Timeout");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("http_server timeouts: a handler still running after handler_timeout gets 503 and a close",
          "[http][server][limits]") {
    std::atomic<int> saw_timeout{0};
    std::string out = test::with_server(
        slow_routes(&saw_timeout), {.handler_timeout = 2s},
        [](std::uint16_t port) -> weft::Task<std::string> {
            auto start = weft::now();
            // Pipelined: the second request is never served (the connection closes).
            std::string got = co_await test::exchange(
                port,
                "GET /sleep/3600000 HTTP/1.1\r\nHost: t\r\n\r\n" "GET /sleep/1 HTTP/1.1\r\nHost: t\r\n\r\n");
            const auto waited = test::ms_since(start);
            co_return got + "|" + std::to_string(waited >= 2000 && waited < 3000);
        },
        test::paused_clock());
    CHECK(status_line(out) == "HTTP/1.1 503 Service Unavailable");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    CHECK(test::split_responses(out.substr(0, out.rfind('|'))).size() == 1);
    CHECK(out.substr(out.size() - 2) == "|1");
    CHECK(saw_timeout.load() == 1);  // the handler was stopped by the deadline, not left running
}

TEST_CASE("http_server timeouts: handlers within handler_timeout answer, each request with its own deadline",
          "[http][server][limits]") {
    std::atomic<int> saw_timeout{0};
    std::string out = test::with_server(
        slow_routes(&saw_timeout), {.handler_timeout = 2s},
        [](std::uint16_t port) -> weft::Task<std::string> {
            // Three requests of 1.5 s each on one connection: 4.5 s in all, each within 2 s.
            co_return co_await test::exchange(port,
                                              "GET /sleep/1500 HTTP/1.1\r\nHost: t\r\n\r\n"
                                              "GET /sleep/1500 HTTP/1.1\r\nHost: t\r\n\r\n"
                                              "GET /sleep/1500 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        },
        test::paused_clock());
    auto responses = test::split_responses(out);
    REQUIRE(responses.size() == 3);
    for (const auto& response : responses) {
        CHECK(status_line(response) == "HTTP/1.1 200 OK");
        CHECK(response.find("slept 1500") != std::string::npos);
    }
    CHECK(saw_timeout.load() == 0);
}

TEST_CASE("http_server timeouts: a handler's own deadline is a 500, one that catches the server's answers",
          "[http][server][limits]") {
    std::atomic<int> saw_timeout{0};
    std::string out = test::with_server(
        slow_routes(&saw_timeout), {.handler_timeout = 5s},
        [](std::uint16_t port) -> weft::Task<std::string> {
            std::string own =
                co_await test::exchange(port, "GET /own-deadline HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            std::string caught =
                co_await test::exchange(port, "GET /catches HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            co_return own + "|" + caught;
        },
        test::paused_clock());
    const auto bar = out.find('|');
    CHECK(status_line(out.substr(0, bar)) == "HTTP/1.1 500 Internal Server Error");
    CHECK(status_line(out.substr(bar + 1)) == "HTTP/1.1 504 Gateway Timeout");
    CHECK(out.find("gave up") != std::string::npos);
}

TEST_CASE("http_server: a negative handler_timeout is refused", "[http][server][limits]") {
    CHECK_THROWS_AS(weft::http::Server(Router{}, {.handler_timeout = -1s}), weft::UsageError);
}

TEST_CASE("http_server timeouts: milliseconds::max() in every timeout means never, not at once",
          "[http][server][limits][forever]") {
    std::atomic<int> saw_timeout{0};
    constexpr auto forever = std::chrono::milliseconds::max();
    std::string out = test::with_server(
        slow_routes(&saw_timeout),
        {.header_read_timeout = forever,
         .keep_alive_timeout = forever,
         .body_read_timeout = forever,
         .send_timeout = forever,
         .handler_timeout = forever},
        [](std::uint16_t port) -> weft::Task<std::string> {
            // A handler of an hour (on the paused clock) on a second request of the connection.
            co_return co_await test::exchange(port,
                                              "GET /sleep/10 HTTP/1.1\r\nHost: t\r\n\r\n"
                                              "GET /sleep/3600000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        },
        test::paused_clock());
    auto responses = test::split_responses(out);
    REQUIRE(responses.size() == 2);
    CHECK(status_line(responses[0]) == "HTTP/1.1 200 OK");
    CHECK(status_line(responses[1]) == "HTTP/1.1 200 OK");
    CHECK(responses[1].find("slept 3600000") != std::string::npos);
    CHECK(saw_timeout.load() == 0);
}
