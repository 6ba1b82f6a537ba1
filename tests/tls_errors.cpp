// weft::tls's failures: files that cannot be loaded, misuse, default verification against a
// self-signed server, peers that do not speak TLS (both ways), truncation without
// close_notify, a reset mid-read, cancelled reads (stream usable) and writes (stream broken),
// a second concurrent reader, and a TLS 1.3 KeyUpdate answered while another task writes.
#include <catch2/catch.hpp>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <string>
#include <utility>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>

#include "support/clock.hpp"
#include "support/io.hpp"
#include "support/test_certs.hpp"
#include "support/tls_pair.hpp"

using namespace std::chrono_literals;
using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpStream;
namespace tls = weft::tls;

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

// The exception's message if `f()` throws E, else "" (other exceptions propagate).
template <class E, class F>
std::string message_of(F f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "";
}

using test::tcp_pair;
using test::TcpPair;
using test::TlsPair;

weft::Task<TlsPair> tls_pair() { return test::tls_pair(server_context(), client_context()); }

// Reads exactly into->size() bytes; false if the stream ended first.
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

TEST_CASE("tls_errors: a missing or mismatched certificate, key or CA file is TlsError naming the path", "[tls]") {
    REQUIRE_OPENSSL();
    const auto& certs = test::shared_test_certs();
    std::string missing = certs.dir + "/no-such-file.pem";
    std::string m1 = message_of<tls::TlsError>([&] { tls::Context::server(missing, certs.key_file); });
    CHECK(m1.find(missing) != std::string::npos);
    CHECK(m1.find("certificate") != std::string::npos);
    std::string m2 = message_of<tls::TlsError>([&] { tls::Context::server(certs.cert_file, missing); });
    CHECK(m2.find(missing) != std::string::npos);
    CHECK(m2.find("private key") != std::string::npos);
    // Another key than the certificate's.
    std::string wrong_key = certs.dir + "/other_ca.key";
    std::string m3 = message_of<tls::TlsError>([&] { tls::Context::server(certs.cert_file, wrong_key); });
    CHECK(m3.find(wrong_key) != std::string::npos);
    CHECK(m3.find("mismatch") != std::string::npos);  // "key values mismatch"
    // A file that is not PEM at all.
    std::string m4 =
        message_of<tls::TlsError>([&] { tls::Context::server(certs.dir + "/server.ext", certs.key_file); });
    CHECK(m4.find("server.ext") != std::string::npos);
    std::string m5 = message_of<tls::TlsError>([&] { tls::Context::client({.ca_file = missing}); });
    CHECK(m5.find(missing) != std::string::npos);
    std::string m6 = message_of<weft::UsageError>([] { tls::Context::client({.alpn = {"http/1.1", ""}}); });
    CHECK(m6.find("ALPN") != std::string::npos);
    std::string m7 = message_of<weft::UsageError>([] { tls::Context::client({.alpn = {std::string(256, 'x')}}); });
    CHECK(m7.find("ALPN") != std::string::npos);
}

TEST_CASE("tls_errors: misuse is UsageError: wrong Context side, no server_name, empty Context, closed stream",
          "[tls]") {
    REQUIRE_OPENSSL();
    weft::run([]() -> weft::Task<void> {
        TcpPair a = co_await tcp_pair();
        bool wrong_side = co_await test::throws<weft::UsageError>(
            tls::Stream::connect(std::move(a.client), server_context(), "localhost"));
        CHECK(wrong_side);
        bool wrong_side2 =
            co_await test::throws<weft::UsageError>(tls::Stream::accept(std::move(a.server), client_context()));
        CHECK(wrong_side2);
        TcpPair b = co_await tcp_pair();
        bool no_name =
            co_await test::throws<weft::UsageError>(tls::Stream::connect(std::move(b.client), client_context(), ""));
        CHECK(no_name);
        bool empty_ctx =
            co_await test::throws<weft::UsageError>(tls::Stream::accept(std::move(b.server), tls::Context()));
        CHECK(empty_ctx);

        tls::Stream never;
        char c;
        bool closed_read = co_await test::throws<weft::UsageError>(never.read(&c, 1));
        CHECK(closed_read);
        CHECK_FALSE(never.is_open());

        TlsPair pair = co_await tls_pair();
        co_await pair.client.shutdown();
        co_await pair.client.shutdown();  // a second one does nothing
        bool after_shutdown = co_await test::throws<weft::UsageError>(pair.client.write("x", 1));
        CHECK(after_shutdown);
        pair.client.close();
        bool after_close = co_await test::throws<weft::UsageError>(pair.client.read(&c, 1));
        CHECK(after_close);
        CHECK_FALSE(pair.client.is_open());
    }());
}

TEST_CASE("tls_errors: Context::client() verifies against the system store: a self-signed server fails", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run([]() -> weft::Task<void> {
        const auto& certs = test::shared_test_certs();
        // The test CA's own certificate is self-signed (and for "weft test CA", not localhost).
        TcpPair tcp = co_await tcp_pair();
        auto server = weft::spawn(
            tls::Stream::accept(std::move(tcp.server), tls::Context::server(certs.ca_file, certs.dir + "/ca.key")));
        long result = X509_V_OK;
        // (Contexts go into locals first: g++ 12 miscompiles temporaries inside a co_await
        // expression, freeing them twice.)
        tls::Context system_store = tls::Context::client();
        try {
            co_await tls::Stream::connect(std::move(tcp.client), system_store, "localhost");
        } catch (const tls::CertificateError& e) {
            result = e.verify_result();
            CHECK(std::string(e.what()).find("self-signed") != std::string::npos);
        }
        CHECK(result == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
        // The client's alert reaches the server: its handshake fails too (never hangs).
        bool server_failed = co_await test::throws<tls::TlsError>(std::move(server));
        CHECK(server_failed);

        // verify = false accepts it (and needs no server_name).
        TcpPair again = co_await tcp_pair();
        auto server2 = weft::spawn(
            tls::Stream::accept(std::move(again.server), tls::Context::server(certs.ca_file, certs.dir + "/ca.key")));
        tls::Context unverified = tls::Context::client({.verify = false});
        tls::Stream client = co_await tls::Stream::connect(std::move(again.client), unverified, "");
        tls::Stream served = co_await server2;
        co_await client.write_all(std::string_view("unverified"));
        char buf[10];
        std::size_t n = co_await served.read(buf, sizeof buf);
        CHECK(std::string(buf, n) == "unverified");
    }());
}

TEST_CASE("tls_errors: a peer that does not speak TLS is TlsError, never a hang", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run([]() -> weft::Task<void> {
        // A plain HTTP server answering the ClientHello.
        TcpPair a = co_await tcp_pair();
        auto http_server = weft::spawn([](TcpStream s) -> weft::Task<void> {
            char buf[4096];
            co_await s.read(buf, sizeof buf);
            co_await s.write_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            s.close();
        }(std::move(a.server)));
        std::string message;
        try {
            co_await tls::Stream::connect(std::move(a.client), client_context(), "localhost");
        } catch (const tls::TlsError& e) {
            message = e.what();
        }
        CAPTURE(message);
        CHECK(message.find("tls::Stream::connect: TLS handshake failed") != std::string::npos);
        co_await http_server;

        // A plain HTTP client talking to a TLS server.
        TcpPair b = co_await tcp_pair();
        auto tls_server = weft::spawn(tls::Stream::accept(std::move(b.server), server_context()));
        co_await b.client.write_all("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
        std::string server_message;
        try {
            co_await tls_server;
        } catch (const tls::TlsError& e) {
            server_message = e.what();
        }
        CAPTURE(server_message);
        CHECK(server_message.find("tls::Stream::accept: TLS handshake failed") != std::string::npos);
        // The server closed its side (OpenSSL sends no alert to an HTTP request): the end.
        char reply[256];
        std::size_t n = 1;
        while (n > 0) n = co_await b.client.read(reply, sizeof reply);
        CHECK(n == 0);

        // A peer that closes at once.
        TcpPair c = co_await tcp_pair();
        c.server.close();
        bool closed = co_await test::throws<tls::TlsError>(
            tls::Stream::connect(std::move(c.client), client_context(), "localhost"));
        CHECK(closed);
    }());
}

TEST_CASE("tls_errors: a handshake nobody answers ends at the caller's timeout (virtual time)", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run(
        []() -> weft::Task<void> {
            TcpPair tcp = co_await tcp_pair();  // the server side never speaks
            bool timed_out = co_await test::throws<weft::TimeoutError>(
                weft::wait_for(tls::Stream::connect(std::move(tcp.client), client_context(), "localhost"), 10s));
            CHECK(timed_out);
            char c;
            std::size_t end = co_await tcp.server.read(&c, 1);  // the ClientHello...
            CHECK(end == 1);
        }(),
        test::paused_clock());
}

TEST_CASE("tls_errors: the TCP end without close_notify is UnexpectedEof, a reset is ConnectionReset", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run([]() -> weft::Task<void> {
        TlsPair pair = co_await tls_pair();
        co_await pair.server.write_all(std::string_view("partial"));
        pair.server.tcp().close();  // no close_notify
        char buf[64];
        std::size_t n = co_await pair.client.read(buf, sizeof buf);
        CHECK(std::string(buf, n) == "partial");  // the data before the cut still arrives
        std::string message;
        try {
            co_await pair.client.read(buf, sizeof buf);
        } catch (const weft::UnexpectedEof& e) {
            message = e.what();
        }
        CHECK(message.find("close_notify") != std::string::npos);
        bool again = co_await test::throws<weft::UnexpectedEof>(pair.client.read(buf, sizeof buf));
        CHECK(again);

        TlsPair reset = co_await tls_pair();
        reset.server.tcp().set_linger(true, 0);
        reset.server.tcp().close();  // RST
        bool was_reset = co_await test::throws<weft::ConnectionReset>(reset.client.read(buf, sizeof buf));
        CHECK(was_reset);
    }());
}

TEST_CASE("tls_errors: a read cancelled by a timeout leaves the stream usable, a cancelled write breaks it", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run(
        []() -> weft::Task<void> {
            TlsPair pair = co_await tls_pair();
            char buf[64];
            bool timed_out = co_await test::throws<weft::TimeoutError>(weft::wait_for(pair.client.read(buf, 64), 50ms));
            CHECK(timed_out);
            co_await pair.server.write_all(std::string_view("after the timeout"));
            std::string got(17, '\0');
            bool whole = co_await read_all(&pair.client, &got);
            CHECK(whole);
            CHECK(got == "after the timeout");

            // Nobody reads the server side: the client's writes fill the socket buffers and
            // the deadline cancels one mid-record.
            const std::string big = test::pattern(3, 16 << 20);
            bool write_timed_out = co_await test::throws<weft::TimeoutError>(
                weft::wait_for(pair.client.write_all(big.data(), big.size()), 50ms));
            CHECK(write_timed_out);
            std::string message;
            try {
                co_await pair.client.write("x", 1);
            } catch (const tls::TlsError& e) {
                message = e.what();
            }
            CHECK(message.find("cancelled") != std::string::npos);
        }(),
        test::paused_clock());
}

TEST_CASE("tls_errors: two tasks reading one stream at once is UsageError", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run(
        []() -> weft::Task<void> {
            TlsPair pair = co_await tls_pair();
            char a[8];
            char b[8];
            auto first = weft::spawn(pair.client.read(a, sizeof a));
            co_await weft::sleep(0ms);  // let it start waiting
            bool second = co_await test::throws<weft::UsageError>(pair.client.read(b, sizeof b));
            CHECK(second);
            co_await pair.server.write_all(std::string_view("one"));
            std::size_t n = co_await first;
            CHECK(std::string(a, n) == "one");
        }(),
        {.workers = 1});
}

TEST_CASE("tls_errors: a KeyUpdate the reader must answer while another task writes (TLS 1.3)", "[tls]") {
    REQUIRE_OPENSSL();
    weft::run(
        []() -> weft::Task<void> {
            int intact = 0;
            const int rounds = 10;
            for (int round = 0; round < rounds; ++round) {
                TlsPair pair = co_await tls_pair();
                // The client streams 256 KiB (the socket buffers hold it: the server reads
                // it only at the end, so only this task touches the server's SSL meanwhile).
                const std::string up = test::pattern(static_cast<std::uint32_t>(round), 256 * 1024);
                auto client_writer = weft::spawn(pair.client.write_all(up.data(), up.size()));
                // Meanwhile the server asks the client to update its keys too: the client's
                // reader must send its own KeyUpdate while its writer is streaming records.
                const std::string down(1000, 'k');
                int answered = 0;
                for (int i = 0; i < 5; ++i) {
                    if (SSL_key_update(pair.server.native_handle(), SSL_KEY_UPDATE_REQUESTED) != 1) break;
                    co_await pair.server.write_all(down.data(), down.size());
                    std::string got(down.size(), '\0');
                    bool ok = co_await read_all(&pair.client, &got);
                    if (!ok || got != down) break;
                    ++answered;
                }
                std::size_t sent = co_await client_writer;
                std::string got_up(up.size(), '\0');
                bool ok_up = co_await read_all(&pair.server, &got_up);  // decrypts under the client's new keys
                if (answered == 5 && sent == up.size() && ok_up && got_up == up) ++intact;
            }
            CHECK(intact == rounds);
        }(),
        {.workers = 4});
}
