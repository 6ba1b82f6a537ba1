// weft::tls::Stream between weft clients and weft servers: echo over many connections (every
// byte checked), 10 MB each way with one task reading while another writes on the same
// stream, close_notify both ways, ALPN, StreamReader over TLS, truncation and resets,
// a read cancelled by a timeout, misuse. Certificates are made at test time
// (support/test_certs.hpp); skipped when the openssl command is missing.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/stream_concepts.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/net/stream_writer.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>

#include "support/io.hpp"
#include "support/test_certs.hpp"
#include "support/tls_pair.hpp"

using namespace std::chrono_literals;
using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpStream;
namespace tls = weft::tls;

static_assert(weft::net::ReadableStream<tls::Stream>);
static_assert(weft::net::WritableStream<tls::Stream>);

namespace {

#define REQUIRE_OPENSSL()                                                      \
    if (!test::have_program("openssl")) {                                      \
        WARN("the openssl command is missing: TLS test skipped (tools/deps)"); \
        return;                                                                \
    }

tls::Context server_context() {
    const auto& certs = test::shared_test_certs();
    return tls::Context::server(certs.cert_file, certs.key_file);
}

tls::Context client_context() { return tls::Context::client({.ca_file = test::shared_test_certs().ca_file}); }

// Echoes decrypted bytes until close_notify, answers it with its own, returns the count.
weft::Task<std::size_t> tls_echo(TcpStream tcp, tls::Context ctx) {
    tls::Stream stream = co_await tls::Stream::accept(std::move(tcp), ctx);
    char buf[16384];
    std::size_t total = 0;
    for (;;) {
        std::size_t n = co_await stream.read(buf, sizeof buf);
        if (n == 0) break;
        co_await stream.write_all(buf, n);
        total += n;
    }
    co_await stream.shutdown();
    stream.close();
    co_return total;
}

weft::Task<std::size_t> accept_tls_echoes(TcpListener* listener, tls::Context ctx, int connections) {
    std::vector<weft::JoinHandle<std::size_t>> echoes;
    for (int i = 0; i < connections; ++i) {
        TcpStream tcp = co_await listener->accept();
        echoes.push_back(weft::spawn(tls_echo(std::move(tcp), ctx)));
    }
    std::size_t total = 0;
    for (auto& e : echoes) total += co_await e;
    co_return total;
}

// Sends `messages` patterns of `size` bytes and checks each echo; then close_notify both ways.
weft::Task<std::size_t> tls_echo_client(std::uint16_t port, tls::Context ctx, std::uint32_t id, int messages,
                                        std::size_t size) {
    TcpStream tcp = co_await TcpStream::connect("127.0.0.1", port);
    tls::Stream stream = co_await tls::Stream::connect(std::move(tcp), ctx, "localhost");
    std::size_t matched = 0;
    std::string back(size, '\0');
    for (int m = 0; m < messages; ++m) {
        std::string out = test::pattern(id * 1000 + static_cast<std::uint32_t>(m), size);
        co_await stream.write_all(out);
        std::size_t got = 0;
        while (got < size) {
            std::size_t n = co_await stream.read(back.data() + got, size - got);
            if (n == 0) co_return 0;
            got += n;
        }
        if (back == out) matched += size;
    }
    co_await stream.shutdown();
    char extra;
    std::size_t after = co_await stream.read(&extra, 1);  // the server's close_notify
    if (after != 0) matched = 0;
    if (stream.alpn_protocol() != "http/1.1") matched = 0;
    co_return matched;
}

weft::Task<void> many_tls_connections(int connections, int messages, std::size_t size) {
    auto listener = TcpListener::bind(SocketAddress::loopback_v4(0));
    std::uint16_t port = listener.local_address().port();
    auto server = weft::spawn(accept_tls_echoes(&listener, server_context(), connections));
    tls::Context ctx = client_context();
    std::vector<weft::JoinHandle<std::size_t>> clients;
    for (int i = 0; i < connections; ++i) {
        clients.push_back(weft::spawn(tls_echo_client(port, ctx, static_cast<std::uint32_t>(i), messages, size)));
    }
    std::size_t matched = 0;
    for (auto& c : clients) matched += co_await c;
    std::size_t echoed = co_await server;
    std::size_t expected = static_cast<std::size_t>(connections) * static_cast<std::size_t>(messages) * size;
    CHECK(matched == expected);
    CHECK(echoed == expected);
}

using test::tls_pair;
using test::TlsPair;

// Reads exactly `into->size()` bytes; false if the stream ended first.
weft::Task<bool> read_all(tls::Stream* stream, std::string* into) {
    std::size_t got = 0;
    while (got < into->size()) {
        std::size_t n = co_await stream->read(into->data() + got, into->size() - got);
        if (n == 0) co_return false;
        got += n;
    }
    co_return true;
}

}  // namespace

TEST_CASE("tls_stream: 100 concurrent TLS echo connections, every byte checked", "[tls]") {
    REQUIRE_OPENSSL();
    auto workers = GENERATE(1u, 4u);
    CAPTURE(workers);
    weft::run(many_tls_connections(100, 5, 3000), {.workers = workers});
}

TEST_CASE("tls_stream: 1-byte and 100 KB messages echo intact", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run(many_tls_connections(4, 200, 1), {.workers = 2});
    weft::run(many_tls_connections(4, 3, 100 * 1024), {.workers = 2});
}

TEST_CASE("tls_stream: 10 MB each way, one task reading while another writes the same stream", "[tls]") {
    REQUIRE_OPENSSL();
    auto workers = GENERATE(1u, 4u);
    CAPTURE(workers);
    weft::run(
        []() -> weft::Task<void> {
            TlsPair pair = co_await tls_pair(server_context(), client_context());
            CHECK(pair.client.alpn_protocol() == "http/1.1");
            CHECK(pair.server.alpn_protocol() == "http/1.1");
            CHECK(pair.client.protocol_version() == "TLSv1.3");
            const std::size_t size = 10 << 20;
            const std::string up = test::pattern(1, size);
            const std::string down = test::pattern(2, size);
            std::string got_up(size, '\0');
            std::string got_down(size, '\0');
            // Four tasks, two per stream: each stream is read by one task while another
            // writes it, so both directions stream at once.
            auto server_reader = weft::spawn(read_all(&pair.server, &got_up));
            auto client_reader = weft::spawn(read_all(&pair.client, &got_down));
            auto server_writer = weft::spawn(pair.server.write_all(down.data(), down.size()));
            std::size_t sent = co_await pair.client.write_all(up.data(), up.size());
            std::size_t sent_back = co_await server_writer;
            bool up_ok = co_await server_reader;
            bool down_ok = co_await client_reader;
            CHECK(sent == size);
            CHECK(sent_back == size);
            CHECK(up_ok);
            CHECK(down_ok);
            CHECK(got_up == up);
            CHECK(got_down == down);
            // close_notify both ways: each side's read returns 0.
            co_await pair.client.shutdown();
            char c;
            std::size_t server_end = co_await pair.server.read(&c, 1);
            CHECK(server_end == 0);
            co_await pair.server.shutdown();
            std::size_t client_end = co_await pair.client.read(&c, 1);
            CHECK(client_end == 0);
        }(),
        {.workers = workers});
}

TEST_CASE("tls_stream: full-duplex small messages, many rounds (TSan: reader and writer race-free)", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run(
        []() -> weft::Task<void> {
            tls::Context server_ctx = server_context();
            tls::Context client_ctx = client_context();
            int intact = 0;
            const int rounds = 20;
            for (int round = 0; round < rounds; ++round) {
                TlsPair pair = co_await tls_pair(server_ctx, client_ctx);
                const std::string a = test::pattern(static_cast<std::uint32_t>(round) * 2, 64 * 1024 + 7);
                const std::string b = test::pattern(static_cast<std::uint32_t>(round) * 2 + 1, 48 * 1024 + 3);
                std::string got_a(a.size(), '\0');
                std::string got_b(b.size(), '\0');
                auto ra = weft::spawn(read_all(&pair.server, &got_a));
                auto rb = weft::spawn(read_all(&pair.client, &got_b));
                auto wb = weft::spawn([](tls::Stream* s, const std::string* bytes) -> weft::Task<std::size_t> {
                    // Many small writes: the writer takes the SSL lock often while the reader holds it.
                    std::size_t sent = 0;
                    for (std::size_t i = 0; i < bytes->size(); i += 1000) {
                        std::size_t n = std::min<std::size_t>(1000, bytes->size() - i);
                        sent += co_await s->write_all(bytes->data() + i, n);
                    }
                    co_return sent;
                }(&pair.server, &b));
                co_await pair.client.write_all(a.data(), a.size());
                std::size_t sent_b = co_await wb;
                bool ok_a = co_await ra;
                bool ok_b = co_await rb;
                if (ok_a && ok_b && sent_b == b.size() && got_a == a && got_b == b) ++intact;
            }
            CHECK(intact == rounds);
        }(),
        {.workers = 4});
}

TEST_CASE("tls_stream: StreamReader reads lines over TLS", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run([]() -> weft::Task<void> {
        TlsPair pair = co_await tls_pair(server_context(), client_context());
        co_await pair.server.write_all(std::string_view("first line\r\nsecond\nno newline"));
        co_await pair.server.shutdown();
        weft::net::StreamReader reader(std::move(pair.client));
        auto one = co_await reader.read_line();
        auto two = co_await reader.read_line();
        auto three = co_await reader.read_line();
        auto end = co_await reader.read_line();
        CHECK(one == std::optional<std::string>("first line"));
        CHECK(two == std::optional<std::string>("second"));
        CHECK(three == std::optional<std::string>("no newline"));
        CHECK_FALSE(end.has_value());
    }());
}

TEST_CASE("tls_stream: an IP literal is checked against the certificate's IP SAN, without SNI", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run([]() -> weft::Task<void> {
        TlsPair pair = co_await tls_pair(server_context(), client_context(), "127.0.0.1");
        co_await pair.client.write_all(std::string_view("ip"));
        char buf[2];
        std::size_t n = co_await pair.server.read(buf, 2);
        CHECK(n == 2);
    }());
}

TEST_CASE("tls_stream: close() sends close_notify when it can, StreamWriter over TLS ends cleanly", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run([]() -> weft::Task<void> {
        TlsPair pair = co_await tls_pair(server_context(), client_context());
        co_await pair.server.write_all(std::string_view("bye"));
        pair.server.close();
        std::string got(3, '\0');
        bool whole = co_await read_all(&pair.client, &got);
        CHECK(whole);
        char c;
        std::size_t end = co_await pair.client.read(&c, 1);  // close_notify: 0, not UnexpectedEof
        CHECK(end == 0);

        // StreamWriter buffers, sends in the background and close()s the stream at the end.
        TlsPair second = co_await tls_pair(server_context(), client_context());
        const std::string body = test::pattern(11, 300 * 1024);
        weft::net::StreamWriter writer(std::move(second.server));
        for (std::size_t i = 0; i < body.size(); i += 7000) {
            writer.write(std::string_view(body).substr(i, 7000));
            co_await writer.drain();
        }
        writer.close();
        std::string received(body.size(), '\0');
        bool all = co_await read_all(&second.client, &received);
        co_await writer.wait_closed();
        CHECK(all);
        CHECK(received == body);
        std::size_t after = co_await second.client.read(&c, 1);
        CHECK(after == 0);
    }());
}
