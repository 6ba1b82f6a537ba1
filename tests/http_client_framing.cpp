// weft::http::Client against a scripted raw server (tests/support/http_scripted_server.hpp),
// for the framing rules a well-behaved server never puts to the test: responses that have no
// body whatever their headers say (204, 304, 1xx, HEAD; RFC 9112 section 6.3), and whether
// the connection is reused afterwards (one connection, every request answered once, in order;
// not after a 101, nor after a Connection: close from either side), and response heads whose
// lines end in a bare LF (RFC 9112 section 2.2).
#include <catch2/catch.hpp>

#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

#include <weft/http/client.hpp>
#include <weft/http/errors.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>

#include "response_parser.hpp"
#include "support/http_scripted_server.hpp"

using namespace std::chrono_literals;
using namespace std::string_literals;
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
          "Transfer-Encoding, and the connection is reused",
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

TEST_CASE("http_client: a response head whose lines end in a bare LF is read (the body is left as it is), "
          "the connection is reused, and a bare CR or a header llhttp refuses still is InvalidResponse",
          "[http][client]") {
    // RFC 9112 section 2.2 lets a recipient take a bare LF for a line's end; curl and Python's
    // http.client do. Only the line ends are relaxed: the other checks stay.
    weft::run([]() -> weft::Task<void> {
        test::ScriptedServer server([](const std::string& path) -> test::Reply {
            if (path == "/lf") return {"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"};
            if (path == "/mixed") return {"HTTP/1.1 200 OK\r\nX-A: 1\nContent-Length: 5\r\n\nhello"};
            if (path == "/lf-body") return {"HTTP/1.1 200 OK\nContent-Length: 6\n\na\nb\r\nc"};
            if (path == "/lf-204") return {"HTTP/1.1 204 No Content\nContent-Length: 3\n\n"};
            if (path == "/lf-100") return {"HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nContent-Length: 2\n\nok"};
            if (path == "/bare-cr") return {"HTTP/1.1 200 OK\r\nX-A: 1\rContent-Length: 2\r\n\r\nok", true};
            if (path == "/nul") return {"HTTP/1.1 200 OK\nX-A: 1\0002\nContent-Length: 2\n\nok"s, true};
            if (path == "/space-colon") return {"HTTP/1.1 200 OK\nContent-Length : 2\n\nok", true};
            if (path == "/leading-space") return {"HTTP/1.1 200 OK\n Content-Length: 2\n\nok", true};
            return {kHello};
        });
        auto serving = server.start();
        {
            Client client({.read_timeout = kHangGuard});
            // (Awaited into `got`, not inside CHECK: g++ 12 miscompiles a co_await in Catch's
            // expression templates, running it again.)
            std::string got;
            using weft::http::Method;
            got = co_await exchange(client, Method::get, server.url("/lf"));
            CHECK(got == "200:ok");
            got = co_await exchange(client, Method::get, server.url("/mixed"));
            CHECK(got == "200:hello");
            got = co_await exchange(client, Method::get, server.url("/lf-body"));
            CHECK(got == "200:a\nb\r\nc");
            got = co_await exchange(client, Method::get, server.url("/lf-204"));
            CHECK(got == "204:");
            got = co_await exchange(client, Method::get, server.url("/lf-100"));
            CHECK(got == "200:ok");
            got = co_await exchange(client, Method::get, server.url("/hello"));
            CHECK(got == "200:hello");
            CHECK(server.connections() == 1);
            CHECK(server.requests() == list({"1:GET /lf", "1:GET /mixed", "1:GET /lf-body", "1:GET /lf-204",
                                             "1:GET /lf-100", "1:GET /hello"}));
            static constexpr const char* kRefused[] = {"/bare-cr", "/nul", "/space-colon", "/leading-space"};
            for (const char* path : kRefused) {
                INFO(path);
                bool refused = false;
                try {
                    co_await exchange(client, Method::get, server.url(path));
                } catch (const weft::http::InvalidResponse&) {
                    refused = true;
                }
                CHECK(refused);
            }
        }
        co_await test::ScriptedServer::stop(std::move(serving));
    }());
}

TEST_CASE("http_client: the response parser reads bare-LF heads the same however the bytes are split",
          "[http][client]") {
    // Every split of the input into two reads (a CR at the end of one and its LF at the start
    // of the next included), and one byte per read.
    struct Case {
        std::string bytes;
        int status;
        std::string body;
    };
    const Case cases[] = {
        {"HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 4\r\n\r\na\nb\n", 200, "a\nb\n"},
        {"HTTP/1.1 200 OK\nX-A: 1\nContent-Length: 4\n\na\nb\n", 200, "a\nb\n"},
        {"HTTP/1.1 200 OK\nX-A: 1\r\nTransfer-Encoding: chunked\n\n2\r\nab\r\n0\r\n\r\n", 200, "ab"},
        {"HTTP/1.1 103 Early Hints\nX-B: 2\n\nHTTP/1.1 304 Not Modified\nContent-Length: 9\n\n", 304, ""},
    };
    for (const Case& c : cases) {
        INFO(c.bytes);
        std::vector<std::vector<std::size_t>> splits;
        for (std::size_t at = 0; at <= c.bytes.size(); ++at) splits.push_back({at, c.bytes.size() - at});
        splits.emplace_back(c.bytes.size(), 1);
        for (const auto& split : splits) {
            weft::http::Headers headers;
            std::string reason;
            std::string body;
            weft::http::detail::ResponseParser parser;
            parser.start(false, &headers, &reason);
            std::size_t offset = 0;
            const char* error = nullptr;
            for (std::size_t size : split) {
                if (size == 0) continue;
                error = parser.feed(c.bytes.data() + offset, size);
                if (error) break;
                for (auto span : parser.body()) body.append(span.data, span.size);
                parser.clear_body();
                offset += size;
            }
            INFO("split at " << split.front());
            CHECK(error == nullptr);
            CHECK(parser.message_complete());
            CHECK(parser.keep_alive());
            CHECK(!parser.leftover());
            CHECK(parser.status() == c.status);
            CHECK(headers.get("x-a").value_or("") == (c.status == 200 ? "1" : ""));
            CHECK(!headers.contains("x-b"));  // the interim response's
            CHECK(body == c.body);
        }
    }
}
