// weft::http::Server against raw sockets: routing, keep-alive, pipelining, bodies (length,
// chunked, byte by byte, 100-continue), streamed responses. Exact bytes on the wire.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <weft/http/http_error.hpp>
#include <weft/http/server.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/task.hpp>

#include "support/http_server.hpp"

using weft::http::Request;
using weft::http::Response;
using weft::http::Router;

namespace {

Router test_routes() {
    Router router;
    router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
    router.get("/users/{id}", [](Request& req) -> weft::Task<Response> {
        co_return Response::text("user " + std::string(req.path_param("id")));
    });
    router.get("/files/{rest...}", [](Request& req) -> weft::Task<Response> {
        co_return Response::text(std::string(req.path_param("rest")));
    });
    router.get("/query", [](Request& req) -> weft::Task<Response> {
        co_return Response::text(std::string(req.query()) + "|" + std::string(req.header("X-Thing").value_or("none")));
    });
    router.post("/echo", [](Request& req) -> weft::Task<Response> {
        std::string_view body = co_await req.body();
        co_return Response::text(std::string(body));
    });
    router.post("/ignore", [](Request&) -> weft::Task<Response> { co_return Response::text("ignored"); });
    router.get("/throw", [](Request&) -> weft::Task<Response> {
        throw std::runtime_error("boom");
        co_return Response::text("unreachable");
    });
    router.get("/teapot", [](Request&) -> weft::Task<Response> {
        throw weft::http::HttpError(418, "short and stout");
        co_return Response::text("unreachable");
    });
    router.get("/stream/{n}", [](Request& req) -> weft::Task<Response> {
        int n = std::stoi(std::string(req.path_param("n")));
        co_return Response::stream([n](weft::http::BodyWriter& out) -> weft::Task<void> {
            for (int i = 0; i < n; ++i) co_await out.write("part" + std::to_string(i) + ";");
        });
    });
    router.get("/sized", [](Request&) -> weft::Task<Response> {
        co_return Response::stream(
            [](weft::http::BodyWriter& out) -> weft::Task<void> {
                co_await out.write("abc");
                co_await out.write("def");
            },
            6, "text/plain");
    });
    return router;
}

const char* kGetClose = "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

std::string status_line(std::string_view response) { return std::string(response.substr(0, response.find("\r\n"))); }

}  // namespace

TEST_CASE("http_server: GET / answers 13 bytes with Content-Length and a Date", "[http][server]") {
    std::string out =
        test::with_server(test_routes(), {}, [](std::uint16_t port) { return test::exchange(port, kGetClose); });
    CHECK(status_line(out) == "HTTP/1.1 200 OK");
    CHECK(out.find("\r\nContent-Length: 13\r\n") != std::string::npos);
    CHECK(out.find("\r\nDate: ") != std::string::npos);
    CHECK(out.find("\r\nConnection: close\r\n") != std::string::npos);
    CHECK(test::body_of(out) == "Hello, World!");
}

TEST_CASE("http_server: path parameters, the rest of a path, query and headers", "[http][server]") {
    std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) {
        return test::exchange(port,
                              "GET /users/42 HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /files/a/b/c.txt HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /query?x=1&y=2 HTTP/1.1\r\nhost: t\r\nx-thing:   spaced  \r\n\r\n"
                              "GET /users/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    });
    auto r = test::split_responses(out);
    REQUIRE(r.size() == 4);
    CHECK(test::body_of(r[0]) == "user 42");
    CHECK(test::body_of(r[1]) == "a/b/c.txt");
    CHECK(test::body_of(r[2]) == "x=1&y=2|spaced");
    CHECK(status_line(r[3]) == "HTTP/1.1 404 Not Found");
}

TEST_CASE("http_server: 404, 405 with Allow, HEAD without a body", "[http][server]") {
    std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) {
        return test::exchange(port,
                              "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"
                              "DELETE /users/1 HTTP/1.1\r\nHost: t\r\n\r\n"
                              "HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    });
    auto r = test::split_responses(out);
    REQUIRE(r.size() == 3);  // the HEAD answer is last: no body follows its Content-Length
    CHECK(status_line(r[0]) == "HTTP/1.1 404 Not Found");
    CHECK(status_line(r[1]) == "HTTP/1.1 405 Method Not Allowed");
    CHECK(r[1].find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
    CHECK(status_line(r[2]) == "HTTP/1.1 200 OK");
    CHECK(r[2].find("Content-Length: 13\r\n") != std::string::npos);
    CHECK(test::body_of(r[2]).empty());
}

TEST_CASE("http_server: a handler's exception is a 500 (HttpError its status) and the connection goes on",
          "[http][server]") {
    std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) {
        return test::exchange(port,
                              "GET /throw HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /teapot HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    });
    auto r = test::split_responses(out);
    REQUIRE(r.size() == 3);
    CHECK(status_line(r[0]) == "HTTP/1.1 500 Internal Server Error");
    CHECK(status_line(r[1]).rfind("HTTP/1.1 418 ", 0) == 0);
    CHECK(test::body_of(r[1]) == "short and stout\n");
    CHECK(test::body_of(r[2]) == "Hello, World!");
}

TEST_CASE("http_server: 16 pipelined requests are answered in order", "[http][server]") {
    for (int round = 0; round < 20; ++round) {
        std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) {
            std::string requests;
            for (int i = 0; i < 16; ++i)
                requests += "GET /users/" + std::to_string(i) + " HTTP/1.1\r\nHost: t\r\n" +
                            (i == 15 ? "Connection: close\r\n" : "") + "\r\n";
            return test::exchange(port, requests);
        });
        auto r = test::split_responses(out);
        REQUIRE(r.size() == 16);
        for (int i = 0; i < 16; ++i) CHECK(test::body_of(r[i]) == "user " + std::to_string(i));
    }
}

TEST_CASE("http_server: Content-Length and chunked bodies, pipelined behind each other", "[http][server]") {
    std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) {
        return test::exchange(port,
                              "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
                              "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                              "3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n"
                              "POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nskip"
                              "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    });
    auto r = test::split_responses(out);
    REQUIRE(r.size() == 4);
    CHECK(test::body_of(r[0]) == "hello");
    CHECK(test::body_of(r[1]) == "abcdefg");
    CHECK(test::body_of(r[2]) == "ignored");
    CHECK(test::body_of(r[3]) == "Hello, World!");
}

TEST_CASE("http_server: a request written byte by byte", "[http][server]") {
    std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) -> weft::Task<std::string> {
        auto stream = co_await weft::net::TcpStream::connect("127.0.0.1", port);
        stream.set_nodelay(true);
        std::string request =
            "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nsplit\r\n2\r\nme\r\n0\r\n\r\n"
            "GET /users/7 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        for (char c : request) co_await stream.write_all(&c, 1);
        std::string got;
        char buf[4096];
        while (std::size_t n = co_await stream.read(buf, sizeof buf)) got.append(buf, n);
        co_return got;
    });
    auto r = test::split_responses(out);
    REQUIRE(r.size() == 2);
    CHECK(test::body_of(r[0]) == "splitme");
    CHECK(test::body_of(r[1]) == "user 7");
}

TEST_CASE("http_server: Expect: 100-continue gets its 100 when the handler reads the body", "[http][server]") {
    std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) -> weft::Task<std::string> {
        auto stream = co_await weft::net::TcpStream::connect("127.0.0.1", port);
        co_await stream.write_all(
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n");
        std::string got;
        char buf[4096];
        while (got.find("\r\n\r\n") == std::string::npos) {
            std::size_t n = co_await stream.read(buf, sizeof buf);
            if (n == 0) co_return "closed before 100: " + got;
            got.append(buf, n);
        }
        co_await stream.write_all("body");
        while (std::size_t n = co_await stream.read(buf, sizeof buf)) got.append(buf, n);
        co_return got;
    });
    REQUIRE(out.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0) == 0);
    std::string rest = out.substr(25);
    CHECK(status_line(rest) == "HTTP/1.1 200 OK");
    CHECK(test::body_of(rest) == "body");
}

TEST_CASE("http_server: Expect: 100-continue and a handler that does not read: answer, then close", "[http][server]") {
    std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) {
        return test::exchange(
            port, "POST /ignore HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n");
    });
    CHECK(status_line(out) == "HTTP/1.1 200 OK");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    CHECK(test::body_of(out) == "ignored");
}

TEST_CASE("http_server: streamed responses, chunked and with a length", "[http][server]") {
    std::string out = test::with_server(test_routes(), {}, [](std::uint16_t port) {
        return test::exchange(port,
                              "GET /stream/3 HTTP/1.1\r\nHost: t\r\n\r\n"
                              "HEAD /stream/3 HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /sized HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    });
    auto first = out.find("\r\n\r\n");
    REQUIRE(first != std::string::npos);
    CHECK(out.substr(0, first).find("Transfer-Encoding: chunked") != std::string::npos);
    std::string chunks = "6\r\npart0;\r\n6\r\npart1;\r\n6\r\npart2;\r\n0\r\n\r\n";
    CHECK(out.substr(first + 4, chunks.size()) == chunks);
    std::string rest = out.substr(first + 4 + chunks.size());
    auto head2 = rest.find("\r\n\r\n");
    REQUIRE(head2 != std::string::npos);
    CHECK(status_line(rest) == "HTTP/1.1 200 OK");  // HEAD: headers only
    rest = rest.substr(head2 + 4);
    CHECK(status_line(rest) == "HTTP/1.1 200 OK");
    CHECK(rest.find("Content-Length: 6\r\n") != std::string::npos);
    CHECK(test::body_of(rest) == "abcdef");
}

TEST_CASE("http_server: OPTIONS * answers for the whole server, other targets not starting with / are 400",
          "[http][server]") {
    // RFC 9112 section 3.2.4: the asterisk form is for OPTIONS alone; RFC 9110 section 9.3.7:
    // it asks about the server in general (Allow: every method some route has).
    std::string options = test::with_server(test_routes(), {}, [](std::uint16_t port) {
        return test::exchange(port, "OPTIONS * HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    });
    CHECK(status_line(options) == "HTTP/1.1 200 OK");
    CHECK(options.find("\r\nAllow: GET, HEAD, POST\r\n") != std::string::npos);
    CHECK(options.find("\r\nContent-Length: 0\r\n") != std::string::npos);
    CHECK(test::body_of(options).empty());

    for (const char* request : {"GET * HTTP/1.1\r\nHost: t\r\n\r\n", "POST * HTTP/1.1\r\nHost: t\r\n\r\n",
                                "GET users/42 HTTP/1.1\r\nHost: t\r\n\r\n", "GET ?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"}) {
        std::string out = test::with_server(test_routes(), {},
                                            [request](std::uint16_t port) { return test::exchange(port, request); });
        INFO(request);
        CHECK(status_line(out) == "HTTP/1.1 400 Bad Request");
    }
}
