// weft::http::Server's limits and timeouts: 431, 413, 400, 408 and closing, on raw sockets;
// the timeouts on the paused clock (the deadlines pass at once, in order).
#include <catch2/catch.hpp>

#include <string>

#include <weft/http/server.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/task.hpp>

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
    std::string out = answer({.max_headers = 10}, "GET / HTTP/1.1\r\n" + headers + "\r\n");
    CHECK(status_line(out) == "HTTP/1.1 431 Request Header Fields Too Large");
    std::string ok = answer({.max_headers = 12}, "GET / HTTP/1.1\r\nConnection: close\r\n" + headers + "\r\n");
    CHECK(status_line(ok) == "HTTP/1.1 200 OK");
}

TEST_CASE("http_server limits: a Content-Length over max_body_bytes is 413 before the handler",
          "[http][server][limits]") {
    std::string out = answer({.max_body_bytes = 100}, "POST /echo HTTP/1.1\r\nContent-Length: 101\r\n\r\n");
    CHECK(status_line(out) == "HTTP/1.1 413 Content Too Large");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("http_server limits: a chunked body growing past max_body_bytes is 413", "[http][server][limits]") {
    std::string chunks;
    for (int i = 0; i < 11; ++i) chunks += "a\r\n0123456789\r\n";  // 110 bytes
    std::string out = answer({.max_body_bytes = 100},
                             "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
    CHECK(status_line(out) == "HTTP/1.1 413 Content Too Large");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    // Streaming reads are held to the limit too.
    std::string streamed = answer({.max_body_bytes = 100},
                                  "POST /count HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
    CHECK(status_line(streamed) == "HTTP/1.1 413 Content Too Large");
    std::string ok = answer(
        {.max_body_bytes = 110},
        "POST /count HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + "0\r\n\r\n");
    CHECK(test::body_of(ok) == "110");
}

TEST_CASE("http_server limits: malformed requests are 400, then close", "[http][server][limits]") {
    CHECK(status_line(answer({}, "GARBAGE\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(answer({}, "GET / HTTP/1.1\r\nBad Header\r\n\r\n")) == "HTTP/1.1 400 Bad Request");
    CHECK(status_line(answer({}, "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")) ==
          "HTTP/1.1 400 Bad Request");
    std::string bad_chunk = answer({}, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    CHECK(status_line(bad_chunk) == "HTTP/1.1 400 Bad Request");
    CHECK(bad_chunk.find("Connection: close\r\n") != std::string::npos);
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
            co_await s.write_all("POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nhalf!");
            std::string got;
            char buf[4096];
            while (std::size_t n = co_await s.read(buf, sizeof buf)) got.append(buf, n);
            co_return got;
        },
        test::paused_clock());
    CHECK(status_line(out) == "HTTP/1.1 408 Request Timeout");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
}
