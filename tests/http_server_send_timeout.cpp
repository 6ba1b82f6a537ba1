// weft::http::Server's send_timeout: a client that sends requests and never reads is closed
// once a write has made no progress for send_timeout, over TCP and TLS, for buffered,
// streamed (small and large writes) and pipelined responses; a client that reads slowly but
// steadily gets its whole response however long it takes (the timeout is per write, as
// nginx's send_timeout). On the paused clock: the deadlines pass as soon as every task waits.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <weft/error.hpp>
#include <weft/http/server.hpp>
#include <weft/io_error.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>

#include "support/clock.hpp"
#include "support/http_server.hpp"
#include "support/log_capture.hpp"
#include "support/test_certs.hpp"

using namespace std::chrono_literals;
using weft::http::Request;
using weft::http::Response;
using weft::http::Router;

namespace {

constexpr std::size_t kMiB = 1 << 20;

Router stall_routes() {
    Router router;
    router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
    router.get("/text/{mb}", [](Request& req) -> weft::Task<Response> {
        co_return Response::text(std::string(std::stoul(std::string(req.path_param("mb"))) * kMiB, 'x'));
    });
    // Streamed, chunked, in 1 KiB writes (gathered in the connection's buffer) or 64 KiB ones
    // (written straight through); bounded so that a broken server cannot stream forever.
    router.get("/stream/{size}", [](Request& req) -> weft::Task<Response> {
        const std::size_t piece = std::stoul(std::string(req.path_param("size")));
        co_return Response::stream([piece](weft::http::BodyWriter& out) -> weft::Task<void> {
            const std::string chunk(piece, 's');
            for (std::size_t sent = 0; sent < std::size_t{1} << 30; sent += piece) co_await out.write(chunk);
        });
    });
    // Streamed with a Content-Length, for the slow reader.
    router.get("/sized/{mb}", [](Request& req) -> weft::Task<Response> {
        const std::size_t size = std::stoul(std::string(req.path_param("mb"))) * kMiB;
        co_return Response::stream(
            [size](weft::http::BodyWriter& out) -> weft::Task<void> {
                const std::string chunk(64 * 1024, 'z');
                for (std::size_t sent = 0; sent < size; sent += chunk.size()) co_await out.write(chunk);
            },
            size);
    });
    return router;
}

// Writes `request` over and over and never reads, until a write fails: the server closed the
// connection. The writes block once the server stops reading (it is stuck writing to us).
template <class S>
weft::Task<bool> write_until_closed(S& stream, std::string request) {
    try {
        for (;;) co_await stream.write_all(request.data(), request.size());
    } catch (const weft::IoError&) {  // (TlsError is one)
    }
    co_return true;
}

struct Stalled {
    bool closed = false;
    std::vector<std::string> log;
};

// A client that sends `request` repeatedly and never reads, against a server with a 200 ms
// send_timeout, plain or over TLS; an hour (of the paused clock) as the hang guard.
Stalled stall(bool tls, std::string request) {
    test::LogCapture log;
    weft::http::ServerOptions options{.send_timeout = 200ms};
    std::string ca;
    if (tls) {
        const test::TestCerts& certs = test::shared_test_certs();
        options.tls_cert_file = certs.cert_file;
        options.tls_key_file = certs.key_file;
        ca = certs.ca_file;
    }
    Stalled out;
    out.closed = test::with_server(
        stall_routes(), options,
        [tls, ca, request](std::uint16_t port) -> weft::Task<bool> {
            auto tcp = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            if (!tls) {
                weft::Task<bool> writing = write_until_closed(tcp, request);
                co_return co_await weft::wait_for(std::move(writing), 1h);
            }
            weft::tls::Context client_ctx = weft::tls::Context::client({.ca_file = ca});
            weft::tls::Stream stream = co_await weft::tls::Stream::connect(std::move(tcp), client_ctx, "localhost");
            weft::Task<bool> writing = write_until_closed(stream, request);
            co_return co_await weft::wait_for(std::move(writing), 1h);
        },
        test::paused_clock());
    out.log = log.lines();
    return out;
}

bool logged_send_timeout(const std::vector<std::string>& lines) {
    return std::any_of(lines.begin(), lines.end(),
                       [](const std::string& line) { return line.find("send_timeout") != std::string::npos; });
}

bool skip_tls(bool tls) {
    if (tls && !test::have_program("openssl")) {
        WARN("openssl not found: TLS skipped");
        return true;
    }
    return false;
}

}  // namespace

TEST_CASE("http_server send_timeout: a client that never reads a buffered response is closed",
          "[http][server][limits][send_timeout][tls]") {
    const bool tls = GENERATE(false, true);
    if (skip_tls(tls)) return;
    INFO((tls ? "over TLS" : "over TCP"));
    Stalled out = stall(tls, "GET /text/8 HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(out.closed);
    CHECK(logged_send_timeout(out.log));
}

TEST_CASE("http_server send_timeout: a client that never reads a streamed response is closed",
          "[http][server][limits][send_timeout][tls]") {
    const bool tls = GENERATE(false, true);
    const int piece = GENERATE(1024, 64 * 1024);  // gathered, or written straight through
    if (skip_tls(tls)) return;
    INFO((tls ? "over TLS" : "over TCP") << ", writes of " << piece << " bytes");
    Stalled out = stall(tls, "GET /stream/" + std::to_string(piece) + " HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(out.closed);
    CHECK(logged_send_timeout(out.log));
}

TEST_CASE("http_server send_timeout: a client that pipelines requests and never reads is closed",
          "[http][server][limits][send_timeout][tls]") {
    const bool tls = GENERATE(false, true);
    if (skip_tls(tls)) return;
    INFO((tls ? "over TLS" : "over TCP"));
    std::string batch;
    for (int i = 0; i < 100; ++i) batch += "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    Stalled out = stall(tls, batch);
    CHECK(out.closed);
    CHECK(logged_send_timeout(out.log));
}

TEST_CASE("http_server send_timeout: a client reading slowly but steadily gets the whole response",
          "[http][server][limits][send_timeout]") {
    // 32 MiB: more than loopback's socket buffers take in a few steps.
    const std::string target = GENERATE(std::string("/text/32"), std::string("/sized/32"));
    INFO(target);
    test::LogCapture log;
    // Every 150 ms the client takes what has arrived (all of it: then the server's socket has
    // room again, whatever the kernel's buffer sizes). The 32 MiB take several steps, longer
    // than the send_timeout in all, but no write of the server's waits 200 ms.
    std::string out = test::with_server(
        stall_routes(), {.send_timeout = 200ms},
        [target](std::uint16_t port) -> weft::Task<std::string> {
            auto s = co_await weft::net::TcpStream::connect("127.0.0.1", port);
            co_await s.write_all("GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            std::string got;
            std::vector<char> buf(256 * 1024);
            int steps = 0;
            for (bool ended = false; !ended; ++steps) {
                co_await weft::sleep(150ms);
                for (;;) {
                    ssize_t n = ::recv(s.native_handle(), buf.data(), buf.size(), MSG_DONTWAIT);
                    if (n > 0) {
                        got.append(buf.data(), static_cast<std::size_t>(n));
                        continue;
                    }
                    ended = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
                    break;
                }
            }
            co_return got + "|" + std::to_string(steps);
        },
        test::paused_clock());
    const std::size_t bar = out.rfind('|');
    INFO("client steps: " << out.substr(bar + 1));
    out.resize(bar);
    CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(test::body_of(out).size() == 32 * kMiB);
    CHECK_FALSE(logged_send_timeout(log.lines()));
}
