// weft::http::Client against a Python http.server (tests/support/http_test_server.hpp): each
// failure is its own exception type carrying the URL (refused, reset mid-response, closed
// early, malformed, read timeout, too many redirects), close-delimited and chunked bodies,
// HEAD and 204, redirects off and on, POST, the pool's limit (counted on the server side)
// and the retry of a request sent on a connection the server closed while idle.
// Skipped (with a warning) when /usr/bin/python3 is missing.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <weft/error.hpp>
#include <weft/gather.hpp>
#include <weft/http/client.hpp>
#include <weft/http/errors.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

#include "support/http_test_server.hpp"
#include "support/peer_process.hpp"

using namespace std::chrono_literals;
using weft::http::Client;
using weft::http::ClientResponse;

namespace {

constexpr const char* kPython = "/usr/bin/python3";

struct PyServer {
    test::TempDir dir{"http_client"};
    test::PeerProcess process{{kPython, dir.file("server.py", test::kHttpTestServerPy)}, true};
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(process.port()) + path;
    }
};

weft::Task<std::string> fetch_text(Client& client, std::string url) {
    ClientResponse r = co_await client.get(std::move(url));
    std::string body = co_await r.text();
    co_return body;
}

// "|url", as error_of's result ends (built by append: g++ 12 warns falsely on "|" + string).
std::string bar(const std::string& url) {
    std::string out(1, '|');
    out += url;
    return out;
}

// Counts the requests answered with the right body.
weft::Task<void> fetch_counted(Client& client, std::string url, std::atomic<int>& answered) {
    std::string body = co_await fetch_text(client, std::move(url));
    if (body == "Hello, World!") answered.fetch_add(1);
}

// Runs `request` and returns the what() of the E it throws ("" if it did not throw E).
template <class E>
weft::Task<std::string> error_of(weft::Task<std::string> request) {
    try {
        co_await std::move(request);
    } catch (const E& e) {
        co_return std::string(e.what()) + "|" + e.url();
    }
    co_return std::string();
}

}  // namespace

TEST_CASE("http_client: bodies: Content-Length, chunked, close-delimited, HEAD, 204, connections reused",
          "[http][client]") {
    if (!test::have_executable(kPython)) {
        WARN("/usr/bin/python3 not found: skipped");
        return;
    }
    PyServer server;
    weft::run([&]() -> weft::Task<void> {
        Client client;
        std::string hello = co_await fetch_text(client, server.url("/hello"));
        CHECK(hello == "Hello, World!");
        std::string chunked = co_await fetch_text(client, server.url("/chunked"));
        CHECK(chunked == "Hello, chunked world!");
        ClientResponse head = co_await client.head(server.url("/hello"));
        CHECK(head.status() == 200);
        CHECK(head.headers().get("content-length") == "13");
        CHECK(head.body_complete());  // no body to read: the connection is back already
        ClientResponse empty = co_await client.get(server.url("/no-content"));
        CHECK(empty.status() == 204);
        std::string none = co_await empty.text();
        CHECK(none.empty());
        std::string count = co_await fetch_text(client, server.url("/count"));
        CHECK(count == "1");  // one connection for all of them so far

        std::string closed = co_await fetch_text(client, server.url("/close-delimited"));
        std::string expected;
        for (int i = 0; i < 1000; ++i) expected += "until the end";
        CHECK(closed == expected);
        std::string after = co_await fetch_text(client, server.url("/count"));
        CHECK(after == "2");  // the close-delimited one could not be reused

        // Streamed in small reads.
        ClientResponse r = co_await client.get(server.url("/chunked"));
        std::string streamed;
        char buf[3];
        for (;;) {
            std::size_t n = co_await r.read(buf, sizeof buf);
            if (n == 0) break;
            streamed.append(buf, n);
        }
        CHECK(streamed == "Hello, chunked world!");
        CHECK(r.body_complete());
        CHECK(client.idle_count() == 1);

        // A response dropped unread closes its connection: the next request opens another.
        {
            ClientResponse unread = co_await client.get(server.url("/chunked"));
            CHECK(unread.status() == 200);
            CHECK(client.idle_count() == 0);
        }
        CHECK(client.idle_count() == 0);
        std::string third = co_await fetch_text(client, server.url("/count"));
        CHECK(third == "3");
    }());
}

TEST_CASE("http_client: each failure is its own exception type carrying the URL", "[http][client]") {
    if (!test::have_executable(kPython)) {
        WARN("/usr/bin/python3 not found: skipped");
        return;
    }
    PyServer server;
    weft::run([&]() -> weft::Task<void> {
        // Answers the Python server gives at once get a generous read timeout (the machine may be
        // loaded: a head that comes late must not pass for a timeout); a short one only where
        // the timeout is the point.
        Client client({.read_timeout = 5s});
        Client impatient({.read_timeout = 300ms});

        std::string refused_url = "http://127.0.0.1:" + std::to_string(test::free_port()) + "/x";
        std::string refused = co_await error_of<weft::http::ConnectError>(fetch_text(client, refused_url));
        CHECK(refused.ends_with(bar(refused_url)));

        std::string reset = co_await error_of<weft::http::ServerDisconnected>(fetch_text(client, server.url("/reset")));
        CHECK(reset.ends_with(bar(server.url("/reset"))));
        CHECK(reset.find("reset") != std::string::npos);

        std::string early =
            co_await error_of<weft::http::ServerDisconnected>(fetch_text(client, server.url("/early-close")));
        CHECK(early.find("before the end of the body") != std::string::npos);

        std::string malformed =
            co_await error_of<weft::http::InvalidResponse>(fetch_text(client, server.url("/malformed")));
        CHECK(malformed.ends_with(bar(server.url("/malformed"))));

        try {
            co_await fetch_text(impatient, server.url("/silent"));
            FAIL("a server that never answers did not time out");
        } catch (const weft::http::RequestTimeout& e) {
            CHECK(e.phase() == weft::http::RequestTimeout::Phase::read);
            CHECK(e.url() == server.url("/silent"));
        }
        // The head came, the body stalls: the timeout comes from text().
        Client stalled({.read_timeout = 2s});
        ClientResponse slow = co_await stalled.get(server.url("/slow-body"));
        CHECK(slow.status() == 200);
        try {
            co_await slow.text();
            FAIL("a stalled body did not time out");
        } catch (const weft::http::RequestTimeout& e) {
            CHECK(e.phase() == weft::http::RequestTimeout::Phase::read);
        }
        CHECK_FALSE(slow.body_complete());

        Client total({.total_timeout = 200ms});
        try {
            co_await fetch_text(total, server.url("/silent"));
            FAIL("total_timeout did not expire");
        } catch (const weft::http::RequestTimeout& e) {
            CHECK(e.phase() == weft::http::RequestTimeout::Phase::total);
        }

        // Bad URLs: UsageError before anything is sent.
        for (const char* bad : {"ftp://x/", "http://", "http://host:99999/", "http://a b/", "http://[::1/",
                                "127.0.0.1:80/x", "http://user@host/"}) {
            bool usage = false;
            try {
                co_await client.get(bad);
            } catch (const weft::UsageError&) {
                usage = true;
            }
            CHECK(usage);
        }
        // The client is still fine afterwards.
        std::string hello = co_await fetch_text(client, server.url("/hello"));
        CHECK(hello == "Hello, World!");
    }());
}

TEST_CASE("http_client: redirects are off by default, followed up to the limit when on", "[http][client]") {
    if (!test::have_executable(kPython)) {
        WARN("/usr/bin/python3 not found: skipped");
        return;
    }
    PyServer server;
    weft::run([&]() -> weft::Task<void> {
        Client plain;
        ClientResponse r = co_await plain.get(server.url("/redirect/2"));
        CHECK(r.status() == 302);
        CHECK(r.headers().get("location") == "/redirect/1");

        Client following({.max_redirects = 3});
        ClientResponse arrived = co_await following.get(server.url("/redirect/3"));
        CHECK(arrived.status() == 200);
        CHECK(arrived.url() == server.url("/redirect/0"));
        std::string body = co_await arrived.text();
        CHECK(body == "arrived");

        std::string too_many =
            co_await error_of<weft::http::TooManyRedirects>(fetch_text(following, server.url("/redirect/4")));
        CHECK(!too_many.empty());
        std::string loop = co_await error_of<weft::http::TooManyRedirects>(fetch_text(following, server.url("/loop")));
        CHECK(!loop.empty());

        // A per-request limit, and 303 turning a POST into a GET.
        // (Options built into a local first: g++ 12 frees a braced temporary inside a co_await
        // expression twice.)
        weft::http::RequestOptions follow_one{.max_redirects = 1};
        ClientResponse one = co_await plain.get(server.url("/redirect/1"), follow_one);
        CHECK(one.status() == 200);
        ClientResponse seen = co_await plain.post(server.url("/see-other"), "data", follow_one);
        std::string method = co_await seen.text();
        CHECK(method == "GET");

        ClientResponse echoed = co_await plain.post(server.url("/echo"), "posted body");
        std::string echo = co_await echoed.text();
        CHECK(echo == "posted body");
    }());
}

TEST_CASE("http_client: N concurrent requests with limit L: at most L connections, each answered once",
          "[http][client]") {
    if (!test::have_executable(kPython)) {
        WARN("/usr/bin/python3 not found: skipped");
        return;
    }
    PyServer server;
    constexpr int kRequests = 200;
    constexpr std::size_t kLimit = 6;
    weft::run(
        [&]() -> weft::Task<void> {
            Client client({.limit = kLimit});
            std::atomic<int> answered{0};
            std::vector<weft::JoinHandle<void>> tasks;
            for (int i = 0; i < kRequests; ++i) {
                tasks.push_back(weft::spawn(fetch_counted(client, server.url("/hello"), answered)));
            }
            for (auto& t : tasks) co_await std::move(t);
            CHECK(answered.load() == kRequests);
            std::string accepted = co_await fetch_text(client, server.url("/count"));
            std::string peak = co_await fetch_text(client, server.url("/peak"));
            CHECK(std::stoul(accepted) <= kLimit);
            CHECK(std::stoul(peak) <= kLimit);
        }(),
        {.workers = 2});
}

TEST_CASE("http_client: a pooled connection closed by the server is retried once (GET), checked first (POST)",
          "[http][client]") {
    if (!test::have_executable(kPython)) {
        WARN("/usr/bin/python3 not found: skipped");
        return;
    }
    PyServer server;
    weft::run([&]() -> weft::Task<void> {
        Client client;
        Client other;
        for (int round = 0; round < 5; ++round) {
            std::string hello = co_await fetch_text(client, server.url("/hello"));
            CHECK(hello == "Hello, World!");
            CHECK(client.idle_count() == 1);
            // The server closes the idle connection (as nginx at its keepalive_timeout).
            std::string closed = co_await fetch_text(other, server.url("/close-all"));
            CHECK(closed == "closed 1");
            other.close_idle();
            std::string again = co_await fetch_text(client, server.url("/hello"));  // retried: no error
            CHECK(again == "Hello, World!");

            co_await fetch_text(other, server.url("/close-all"));
            other.close_idle();
            ClientResponse posted = co_await client.post(server.url("/echo"), "once");
            std::string echo = co_await posted.text();
            CHECK(echo == "once");
        }
    }());
}
