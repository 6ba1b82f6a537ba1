// Percent-encoding in requests: path parameters, literal route segments and the query string
// come to handlers decoded, as aiohttp's match_info and request.query give them; target(),
// path() and query() stay as received.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <weft/http/percent.hpp>
#include <weft/http/server.hpp>
#include <weft/task.hpp>

#include "support/http_server.hpp"

using weft::http::percent_decode;
using weft::http::percent_encode;
using weft::http::Request;
using weft::http::Response;
using weft::http::Router;

TEST_CASE("percent_decode: %XX in either case, and anything malformed is kept as it came", "[http][percent]") {
    CHECK(percent_decode("john%20doe") == "john doe");
    CHECK(percent_decode("caf%C3%A9") == "caf\xC3\xA9");
    CHECK(percent_decode("caf%c3%a9") == "caf\xC3\xA9");
    CHECK(percent_decode("a%2Fb") == "a/b");
    CHECK(percent_decode("100%") == "100%");
    CHECK(percent_decode("%4") == "%4");
    CHECK(percent_decode("%zz%41") == "%zzA");
    CHECK(percent_decode("%%41") == "%A");
    CHECK(percent_decode("a+b") == "a+b");  // a '+' is a space only in a query
    CHECK(percent_decode("a+b%2B", weft::http::PlusIsSpace::yes) == "a b+");
    CHECK(percent_decode("%00") == std::string(1, '\0'));
    CHECK(percent_decode("") == "");
}

TEST_CASE("percent_encode: unreserved bytes stay, every other byte is %XX, and decode undoes it", "[http][percent]") {
    CHECK(percent_encode("AZaz09-._~") == "AZaz09-._~");
    CHECK(percent_encode("a b/c?d&e=f") == "a%20b%2Fc%3Fd%26e%3Df");
    CHECK(percent_encode("caf\xC3\xA9") == "caf%C3%A9");
    std::string every_byte;
    for (int b = 0; b < 256; ++b) every_byte.push_back(char(b));
    CHECK(percent_decode(percent_encode(every_byte)) == every_byte);
}

namespace {

Router decoding_routes() {
    Router router;
    router.get("/users/{name}", [](Request& req) -> weft::Task<Response> {
        co_return Response::text(std::string(req.path_param("name")) + "|" + std::string(req.path_param_raw("name")) +
                                 "|" + std::string(req.path()));
    });
    router.get("/pair/{a}/{b}", [](Request& req) -> weft::Task<Response> {
        co_return Response::text(std::string(req.path_param("a")) + "|" + std::string(req.path_param("b")));
    });
    router.get("/files/{rest...}", [](Request& req) -> weft::Task<Response> {
        co_return Response::text(std::string(req.path_param("rest")));
    });
    router.get("/caf\xC3\xA9/menu", [](Request&) -> weft::Task<Response> { co_return Response::text("menu"); });
    router.get("/search", [](Request& req) -> weft::Task<Response> {
        std::string out = req.query_param("q").value_or("<none>") + "|" + req.query_param("missing").value_or("<none>");
        for (const auto& [name, value] : req.query_params()) out += "|" + name + "=" + value;
        co_return Response::text(out);
    });
    return router;
}

std::vector<std::string> bodies_of(const std::string& requests) {
    std::string out = test::with_server(decoding_routes(), {},
                                        [&requests](std::uint16_t port) { return test::exchange(port, requests); });
    std::vector<std::string> bodies;
    for (const std::string& response : test::split_responses(out))
        bodies.push_back(response.substr(0, response.find("\r\n")) + " " + test::body_of(response));
    return bodies;
}

}  // namespace

TEST_CASE("http_server: path parameters are percent-decoded, while the raw value and path stay as received",
          "[http][server][percent]") {
    auto r = bodies_of(
        "GET /users/john%20doe HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /users/plain HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /pair/a%2Fb/%E2%9C%93 HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /users/bad%zz HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /files/dir%20one/f%3F.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    REQUIRE(r.size() == 5);
    CHECK(r[0] == "HTTP/1.1 200 OK john doe|john%20doe|/users/john%20doe");
    CHECK(r[1] == "HTTP/1.1 200 OK plain|plain|/users/plain");
    // An encoded '/' is part of its segment: it does not split the path.
    CHECK(r[2] == "HTTP/1.1 200 OK a/b|\xE2\x9C\x93");
    CHECK(r[3] == "HTTP/1.1 200 OK bad%zz|bad%zz|/users/bad%zz");
    CHECK(r[4] == "HTTP/1.1 200 OK dir one/f?.txt");
}

TEST_CASE("http_server: a literal route segment matches its percent-encoded form", "[http][server][percent]") {
    auto r = bodies_of(
        "GET /caf%C3%A9/menu HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /caf%c3%a9/menu HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /%73earch?q=1 HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /caf%C3%A9/men HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    REQUIRE(r.size() == 4);
    CHECK(r[0] == "HTTP/1.1 200 OK menu");
    CHECK(r[1] == "HTTP/1.1 200 OK menu");
    CHECK(r[2] == "HTTP/1.1 200 OK 1|<none>|q=1");
    CHECK(r[3].rfind("HTTP/1.1 404 Not Found", 0) == 0);
}

TEST_CASE("http_server: query_param and query_params decode names and values ('+' is a space)",
          "[http][server][percent]") {
    auto r = bodies_of(
        "GET /search?q=a+b%26c&x=1&q=second&flag&&=v&k%20ey=v%3Dw HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /search HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /search?q= HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    REQUIRE(r.size() == 3);
    // The first q wins (aiohttp's request.query.get); every pair is listed in order, a bare
    // name has an empty value, and empty pairs ("&&") are skipped.
    CHECK(r[0] == "HTTP/1.1 200 OK a b&c|<none>|q=a b&c|x=1|q=second|flag=|=v|k ey=v=w");
    CHECK(r[1] == "HTTP/1.1 200 OK <none>|<none>");
    CHECK(r[2] == "HTTP/1.1 200 OK |<none>|q=");
}
