// weft::http::Client against a scripted raw server (tests/support/http_scripted_server.hpp),
// for the framing rules a well-behaved server never puts to the test: responses that have no
// body whatever their headers say (204, 304, 1xx, HEAD; RFC 9112 section 6.3), and whether
// the connection is reused afterwards (one connection, every request answered once, in order;
// not after a 101, nor after a Connection: close from either side).
#include <catch2/catch.hpp>

#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

#include <weft/http/client.hpp>
#include <weft/http/errors.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>

#include "support/http_scripted_server.hpp"

using namespace std::chrono_literals;
using weft::http::Client;
using weft::http::ClientResponse;

namespace {

// A guard only: a client that waits for a body that never comes fails with RequestTimeout
// instead of hanging the test run (nothing here waits for it to fire).
constexpr auto kHangGuard = 10s;

const char* const kHello = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

// The status and body of a request, as "status:body".
weft::Task<std::string> exchange(Client& client, weft::http::Method method, std::string url) {
    ClientResponse r = co_await client.request(method, std::move(url));
    std::string body = co_await r.text();
    co_return std::to_string(r.status()) + ":" + body;
}

// One field (built outside the coroutines: g++ 12 cannot put an initializer_list's array in a
// coroutine frame).
weft::http::Headers one_field(const char* name, const char* value) {
    weft::http::Headers headers;
    headers.add(name, value);
    return headers;
}

std::vector<std::string> list(std::initializer_list<const char*> items) { return {items.begin(), items.end()}; }

}  // namespace

TEST_CASE("http_client: 204, 304, 1xx and HEAD responses have no body whatever their Content-Length or "
          "Transfer-Encoding; the connection is reused",
          "[http][client]") {
    using weft::http::Method;
    weft::run([]() -> weft::Task<void> {
        test::ScriptedServer server([](const std::string& path) -> test::Reply {
            if (path == "/304-length") return {"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"};
            if (path == "/304-chunked") return {"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"};
            if (path == "/204-length") return {"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"};
            if (path == "/204-chunked") return {"HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"};
            if (path == "/103-length") {
                // An interim response's Content-Length must not eat the final response.
                return {std::string("HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\nContent-Length: 17\r\n\r\n") +
                        kHello};
            }
            if (path == "/100-chunked") {
                return {std::string("HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n") + kHello};
            }
            if (path == "/101")
                return {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"};
            if (path == "/head-length") return {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"};
            if (path == "/head-chunked") return {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"};
            return {kHello};
        });
        auto serving = server.start();
        {
            Client client({.read_timeout = kHangGuard});
            // (Awaited into `got`, not inside CHECK: g++ 12 miscompiles a co_await in Catch's
            // expression templates, running it again.)
            std::string got;
            struct Case {
                Method method;
                const char* path;
                const char* expected;
            };
            const Case cases[] = {
                {Method::get, "/304-length", "304:"},      {Method::get, "/304-chunked", "304:"},
                {Method::get, "/204-length", "204:"},      {Method::get, "/204-chunked", "204:"},
                {Method::get, "/103-length", "200:hello"}, {Method::get, "/100-chunked", "200:hello"},
                {Method::head, "/head-length", "200:"},    {Method::head, "/head-chunked", "200:"},
            };
            std::vector<std::string> expected_requests;
            for (const Case& c : cases) {
                INFO(c.path);
                got = co_await exchange(client, c.method, server.url(c.path));
                CHECK(got == c.expected);
                CHECK(client.idle_count() == 1);  // kept, not dropped
                // The next response on the same connection parses as it was sent.
                got = co_await exchange(client, Method::get, server.url("/hello"));
                CHECK(got == "200:hello");
                expected_requests.push_back(std::string("1:") + (c.method == Method::head ? "HEAD " : "GET ") + c.path);
                expected_requests.push_back("1:GET /hello");
            }
            CHECK(server.connections() == 1);
            CHECK(server.requests() == expected_requests);  // each once, in order, on connection 1

            // A 101 has no body either, but the connection has left HTTP: it is not reused.
            got = co_await exchange(client, Method::get, server.url("/101"));
            CHECK(got == "101:");
            CHECK(client.idle_count() == 0);
            got = co_await exchange(client, Method::get, server.url("/hello"));
            CHECK(got == "200:hello");
            CHECK(server.connections() == 2);
        }
        co_await test::ScriptedServer::stop(std::move(serving));
    }());
}

TEST_CASE("http_client: a request or a response that says Connection: close closes its connection afterwards",
          "[http][client]") {
    // RFC 9112 section 9.6: once "close" was sent (or received), no further request may go
    // on that connection. The scripted server keeps every connection open regardless, so a
    // client that reused one would be seen doing it.
    weft::run([]() -> weft::Task<void> {
        test::ScriptedServer server([](const std::string& path) -> test::Reply {
            if (path == "/says-close") return {"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"};
            return {kHello};
        });
        auto serving = server.start();
        {
            Client client({.read_timeout = kHangGuard});
            // (Awaited into `got`, not inside CHECK: g++ 12 miscompiles a co_await in Catch's
            // expression templates, running it again.)
            std::string got;
            auto get = [&](std::string path, weft::http::Headers headers) -> weft::Task<std::string> {
                weft::http::RequestOptions options{.headers = std::move(headers)};
                ClientResponse r = co_await client.get(server.url(path), std::move(options));
                std::string body = co_await r.text();
                co_return body;
            };
            got = co_await get("/a", one_field("Connection", "keep-alive"));
            CHECK(got == "hello");  // the control: kept
            CHECK(client.idle_count() == 1);
            got = co_await get("/b", one_field("Connection", "close"));
            CHECK(got == "hello");
            CHECK(client.idle_count() == 0);
            got = co_await get("/c", one_field("connection", "keep-alive, Close"));
            CHECK(got == "hello");  // a token of a list
            CHECK(client.idle_count() == 0);
            got = co_await get("/says-close", weft::http::Headers());
            CHECK(got == "ok");  // the server said it (and did not close)
            CHECK(client.idle_count() == 0);
            got = co_await get("/d", weft::http::Headers());
            CHECK(got == "hello");
            CHECK(client.idle_count() == 1);
            CHECK(server.connections() == 4);
            CHECK(server.requests() == list({"1:GET /a", "1:GET /b", "2:GET /c", "3:GET /says-close", "4:GET /d"}));
        }
        co_await test::ScriptedServer::stop(std::move(serving));
    }());
}
