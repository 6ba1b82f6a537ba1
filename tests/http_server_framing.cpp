// weft::http::Server's reading of RFC 9112 framing, on raw sockets: what llhttp 8.1 (Debian
// 12's) lets through and the server refuses itself (smuggling: a head ending at "\r\n\r"+byte,
// chunk data not ended by CRLF, obs-fold, Transfer-Encoding in HTTP/1.0), the Host rules,
// an Upgrade ignored (the body still read), the absolute form, and HTTP/1.0's Expect.
// Each reproducer came from a black-box review of the server beside nginx.
#include <catch2/catch.hpp>

#include <chrono>
#include <initializer_list>
#include <string>
#include <string_view>

#include <weft/http/server.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>

#include "support/clock.hpp"
#include "support/http_server.hpp"

using weft::http::Request;
using weft::http::Response;
using weft::http::Router;

namespace {

// Concatenation by appends: g++ 12 at -O3 warns falsely (-Wrestrict) on "literal" + std::string.
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view part : parts) out.append(part);
    return out;
}

Router framing_routes() {
    Router router;
    router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
    router.get("/version", [](Request& req) -> weft::Task<Response> {
        co_return Response::text(std::to_string(req.version_major()) + "." + std::to_string(req.version_minor()));
    });
    router.get("/users/{id}", [](Request& req) -> weft::Task<Response> {
        co_return Response::text(cat({"user ", req.path_param("id")}));
    });
    router.post("/trailer", [](Request& req) -> weft::Task<Response> {
        std::string body(co_await req.body());
        auto trailer = req.header("T1");
        co_return Response::text(cat({body, " T1=", trailer ? *trailer : std::string_view("none")}));
    });
    router.post("/echo", [](Request& req) -> weft::Task<Response> {
        std::string_view body = co_await req.body();
        co_return Response::text(cat({"echo ", body}));
    });
    return router;
}

// Sends `request` on one connection and returns every response until the server closes.
std::vector<std::string> responses_to(std::string request) {
    std::string out = test::with_server(framing_routes(), {},
                                        [request](std::uint16_t port) { return test::exchange(port, request); });
    return test::split_responses(out);
}

std::string status_of(const std::string& response) { return response.substr(0, response.find("\r\n")); }

}  // namespace

TEST_CASE("http_server framing: a head ending in CR LF CR and a byte is 400, nothing smuggled",
          "[http][server][framing]") {
    auto out = responses_to("GET / HTTP/1.1\r\nHost: a\r\n\rXGET /users/smug HTTP/1.1\r\nHost: a\r\n\r\n");
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "HTTP/1.1 400 Bad Request");
}

TEST_CASE("http_server framing: chunk data not followed by CRLF is 400, nothing smuggled", "[http][server][framing]") {
    auto out = responses_to(
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabcXY0\r\n\r\nGET /users/smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "HTTP/1.1 400 Bad Request");
    // Well-formed chunks, split at every byte, still echo.
    auto good = responses_to(
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n2\r\nde\r\n0\r\nTrailer-X: 1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    REQUIRE(good.size() == 2);
    CHECK(test::body_of(good[0]) == "echo abcde");
    CHECK(test::body_of(good[1]) == "Hello, World!");
}

TEST_CASE("http_server framing: obs-fold is 400", "[http][server][framing]") {
    auto out =
        responses_to("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: bogus\r\n 100-continue\r\nContent-Length: 3\r\n\r\n");
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "HTTP/1.1 400 Bad Request");
    auto folded_length = responses_to("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\t3\r\n\r\nabc");
    REQUIRE(folded_length.size() == 1);
    CHECK(status_of(folded_length[0]) == "HTTP/1.1 400 Bad Request");
}

TEST_CASE("http_server framing: Transfer-Encoding in HTTP/1.0 is 400, an unknown coding is 501",
          "[http][server][framing]") {
    auto old = responses_to(
        "POST /echo HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.0\r\n\r\n");
    REQUIRE(old.size() == 1);
    CHECK(status_of(old[0]) == "HTTP/1.1 400 Bad Request");
    auto gzip =
        responses_to("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    REQUIRE(gzip.size() == 1);
    CHECK(status_of(gzip[0]) == "HTTP/1.1 501 Not Implemented");
}

TEST_CASE("http_server framing: HTTP/1.1 needs exactly one valid Host, HTTP/1.0 none", "[http][server][framing]") {
    CHECK(status_of(responses_to("GET / HTTP/1.1\r\n\r\n").at(0)) == "HTTP/1.1 400 Bad Request");
    CHECK(status_of(responses_to("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").at(0)) == "HTTP/1.1 400 Bad Request");
    CHECK(status_of(responses_to("GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n").at(0)) == "HTTP/1.1 400 Bad Request");
    CHECK(status_of(responses_to("GET / HTTP/1.0\r\n\r\n").at(0)) == "HTTP/1.1 200 OK");
    CHECK(status_of(responses_to("GET / HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n").at(0)) ==
          "HTTP/1.1 200 OK");
}

TEST_CASE("http_server framing: header names must be tokens, HTTP/2.0 on this port is 505", "[http][server][framing]") {
    CHECK(status_of(responses_to("GET / HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n").at(0)) == "HTTP/1.1 400 Bad Request");
    CHECK(status_of(responses_to("GET / HTTP/2.0\r\nHost: a\r\n\r\n").at(0)) ==
          "HTTP/1.1 505 HTTP Version Not Supported");
}

TEST_CASE("http_server framing: HTTP/1.2 to 1.9 are answered as HTTP/1.1 (RFC 9110 section 2.5), as nginx does",
          "[http][server][framing]") {
    auto out = responses_to(
        "GET /version HTTP/1.2\r\nHost: a\r\n\r\n"
        "GET /version HTTP/1.9\r\nHost: a\r\n\r\n"
        "GET /version HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    REQUIRE(out.size() == 3);  // kept alive, as HTTP/1.1
    CHECK(status_of(out[0]) == "HTTP/1.1 200 OK");
    CHECK(test::body_of(out[0]) == "1.2");
    CHECK(test::body_of(out[1]) == "1.9");
    CHECK(test::body_of(out[2]) == "1.1");
    // An HTTP/1.1 request's rules hold: exactly one Host.
    CHECK(status_of(responses_to("GET /version HTTP/1.2\r\n\r\n").at(0)) == "HTTP/1.1 400 Bad Request");
    CHECK(status_of(responses_to("GET /version HTTP/1.10\r\nHost: a\r\n\r\n").at(0)) != "HTTP/1.1 200 OK");
    CHECK(status_of(responses_to("GET /version HTTP/3.0\r\nHost: a\r\n\r\n").at(0)) ==
          "HTTP/1.1 505 HTTP Version Not Supported");
}

TEST_CASE("http_server framing: an Upgrade is ignored, the body read and the connection kept",
          "[http][server][framing]") {
    auto out = responses_to(
        "POST /echo HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\nContent-Length: 5\r\n\r\nhello"
        "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        "GET /users/7 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    REQUIRE(out.size() == 3);
    CHECK(test::body_of(out[0]) == "echo hello");
    CHECK(test::body_of(out[1]) == "Hello, World!");
    CHECK(test::body_of(out[2]) == "user 7");
}

TEST_CASE("http_server framing: the absolute form routes by its path", "[http][server][framing]") {
    auto out =
        responses_to("GET http://localhost:18080/users/7?x=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    REQUIRE(out.size() == 1);
    CHECK(test::body_of(out[0]) == "user 7");
}

TEST_CASE("http_server framing: HTTP/1.0 with Expect: 100-continue gets no 100", "[http][server][framing]") {
    // The body comes 10 ms after the head (paused clock): the handler is already waiting for it,
    // which is when a 100 Continue would go out.
    std::string out = test::with_server(
        framing_routes(), {},
        [](std::uint16_t port) -> weft::Task<std::string> {
            auto stream = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            co_await stream.write_all(
                std::string_view("POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n"));
            co_await weft::sleep(std::chrono::milliseconds(10));
            co_await stream.write_all(std::string_view("abc"));
            std::string got;
            char buf[4096];
            for (;;) {
                std::size_t n = co_await stream.read(buf, sizeof buf);
                if (n == 0) break;
                got.append(buf, n);
            }
            co_return got;
        },
        test::paused_clock());
    CHECK(out.find("100 Continue") == std::string::npos);
    auto responses = test::split_responses(out);
    REQUIRE(responses.size() == 1);
    CHECK(status_of(responses[0]) == "HTTP/1.1 200 OK");
    CHECK(test::body_of(responses[0]) == "echo abc");
}

TEST_CASE("http_server framing: trailers are dropped, not merged into the headers, and bounded",
          "[http][server][framing]") {
    std::string fields;
    for (int i = 0; i < 97; ++i) fields += cat({"X", std::to_string(i), ": y\r\n"});
    const std::string head = cat({"POST /trailer HTTP/1.1\r\nHost: a\r\n", fields});
    const std::string rest = "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n";
    const std::string trailers = "T1: 1\r\nT2: 2\r\nT3: 3\r\n\r\n";
    auto out = responses_to(cat({head, rest, trailers}));
    REQUIRE(out.size() == 1);
    CHECK(test::body_of(out[0]) == "abc T1=none");  // 99 fields and 3 trailers: within 100 each
    std::string flood;
    for (int i = 0; i < 101; ++i) flood += cat({"T", std::to_string(i), ": 1\r\n"});
    const std::string chunked = "POST /trailer HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    auto flooded = responses_to(cat({chunked, "3\r\nabc\r\n0\r\n", flood, "\r\n"}));
    REQUIRE(flooded.size() == 1);
    CHECK(status_of(flooded[0]) == "HTTP/1.1 400 Bad Request");
}

TEST_CASE("http_server framing: chunk extensions are ignored but bounded (max_header_bytes)",
          "[http][server][framing]") {
    auto small = responses_to(
        "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        "3;name=value\r\nabc\r\n0;last\r\n\r\n");
    REQUIRE(small.size() == 1);
    CHECK(test::body_of(small[0]) == "echo abc");
    auto endless = responses_to(cat({"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=",
                                     std::string(20'000, 'b'), "\r\nabc\r\n0\r\n\r\n"}));
    REQUIRE(endless.size() == 1);
    CHECK(status_of(endless[0]) == "HTTP/1.1 400 Bad Request");
}

TEST_CASE("http_server framing: a request line over max_header_bytes is 414, a head over it 431",
          "[http][server][framing]") {
    auto uri = responses_to(cat({"GET /", std::string(20'000, 'a'), " HTTP/1.1\r\nHost: a\r\n\r\n"}));
    REQUIRE(uri.size() == 1);
    CHECK(status_of(uri[0]) == "HTTP/1.1 414 URI Too Long");
    auto head = responses_to(cat({"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ", std::string(20'000, 'a'), "\r\n\r\n"}));
    REQUIRE(head.size() == 1);
    CHECK(status_of(head[0]) == "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_CASE("http_server framing: a request head with bare LF line ends is 400 (only the client accepts them)",
          "[http][server][framing]") {
    auto out = responses_to("GET / HTTP/1.1\nHost: a\n\nGET /users/smug HTTP/1.1\r\nHost: a\r\n\r\n");
    REQUIRE(out.size() == 1);
    CHECK(status_of(out[0]) == "HTTP/1.1 400 Bad Request");
}
