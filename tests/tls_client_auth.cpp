// Mutual TLS: a server that asks for client certificates (ServerOptions::client_auth) and a
// client that presents one (ClientOptions::cert_file / key_file), weft on both sides and
// against `openssl s_client` / `s_server`: accepted with a certificate from the trusted CA
// (both sides see the other's subject), refused without one or with one from another CA (a
// TlsError, never a hang), optional asks without requiring; misconfiguration is a clear error.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/process/process.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>

#include "support/test_certs.hpp"

using namespace std::chrono_literals;
using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpStream;
using weft::process::Stdio;
namespace tls = weft::tls;

namespace {

#define REQUIRE_OPENSSL()                                                             \
    if (!test::have_program("openssl")) {                                             \
        WARN("the openssl command is missing: mutual TLS test skipped (tools/deps)"); \
        return;                                                                       \
    }

tls::Context server_context(tls::ClientAuth auth) {
    const auto& certs = test::shared_test_certs();
    if (auth == tls::ClientAuth::none) return tls::Context::server(certs.cert_file, certs.key_file);
    return tls::Context::server(certs.cert_file, certs.key_file,
                                {.client_auth = auth, .client_ca_file = certs.ca_file});
}

// A client trusting the test CA, presenting `cert`/`key` (empty: none).
tls::Context client_context(const std::string& cert, const std::string& key) {
    const auto& certs = test::shared_test_certs();
    return tls::Context::client({.ca_file = certs.ca_file, .cert_file = cert, .key_file = key});
}

struct Outcome {
    std::string server_saw;        // the client's subject as the server saw it, or "error: ..."
    std::string client_saw;        // the server's subject as the client saw it, or "error: ..."
    std::string client_got;        // the line the server answered, or "error: ..."
};

// (Plain statements around each co_await: g++ 12 double-frees temporaries of a conditional
// expression inside one, and of a co_return inside a catch.)
weft::Task<std::string> serve_one(TcpListener& listener, tls::Context ctx) {
    TcpStream tcp = co_await listener.accept();
    std::string subject;
    std::string failure;
    try {
        auto scope = weft::timeout(10s);
        tls::Stream stream = co_await tls::Stream::accept(std::move(tcp), std::move(ctx));
        subject = std::string(stream.peer_subject());
        std::string greeting = "hello ";
        greeting += subject.empty() ? "stranger" : subject.c_str();
        greeting += "\n";
        co_await stream.write_all(greeting);
        co_await stream.shutdown();
    } catch (const weft::Error& e) {
        failure = std::string("error: ") + e.what();
    }
    if (!failure.empty()) co_return failure;
    co_return subject;
}

weft::Task<Outcome> mutual(tls::Context server_ctx, tls::Context client_ctx) {
    TcpListener listener = TcpListener::bind(SocketAddress::ip("127.0.0.1", 0));
    auto server = weft::spawn(serve_one(listener, std::move(server_ctx)));
    Outcome out;
    try {
        auto scope = weft::timeout(10s);
        TcpStream tcp = co_await TcpStream::connect("127.0.0.1", listener.local_address().port());
        tls::Stream stream = co_await tls::Stream::connect(std::move(tcp), std::move(client_ctx), "localhost");
        out.client_saw = std::string(stream.peer_subject());
        weft::net::StreamReader reader(std::move(stream));
        auto line = co_await reader.read_line();
        out.client_got = line.value_or("<end of stream>");
    } catch (const weft::Error& e) {
        out.client_got = std::string("error: ") + e.what();
    }
    out.server_saw = co_await server;
    co_return out;
}

bool starts_with(const std::string& text, std::string_view prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

TEST_CASE("tls_client_auth: a client certificate from the trusted CA is accepted, each side sees the other's subject",
          "[tls][mtls]") {
    REQUIRE_OPENSSL();
    const auto& certs = test::shared_test_certs();
    for (tls::ClientAuth auth : {tls::ClientAuth::required, tls::ClientAuth::optional}) {
        Outcome out =
            weft::run(mutual(server_context(auth), client_context(certs.client_cert_file, certs.client_key_file)));
        CHECK(out.server_saw == "CN=weft test client,O=weft");
        CHECK(out.client_saw == "CN=localhost");
        CHECK(out.client_got == "hello CN=weft test client,O=weft");
    }
}

TEST_CASE("tls_client_auth: required refuses a client without a certificate, or with one from another CA",
          "[tls][mtls]") {
    REQUIRE_OPENSSL();
    const auto& certs = test::shared_test_certs();
    for (bool other_ca : {false, true}) {
        CAPTURE(other_ca);
        tls::Context client = other_ca ? client_context(certs.other_client_cert_file, certs.other_client_key_file)
                                       : client_context("", "");
        Outcome out = weft::run(mutual(server_context(tls::ClientAuth::required), std::move(client)));
        INFO("server: " << out.server_saw << "; client: " << out.client_got);
        CHECK(starts_with(out.server_saw, "error: "));
        // TLS 1.3: the client's handshake is over before the server judges its certificate;
        // the refusal (an alert) reaches it at its first read.
        CHECK(starts_with(out.client_got, "error: "));
    }
}

TEST_CASE("tls_client_auth: optional accepts a client without a certificate, refuses one from another CA",
          "[tls][mtls]") {
    REQUIRE_OPENSSL();
    const auto& certs = test::shared_test_certs();
    Outcome none = weft::run(mutual(server_context(tls::ClientAuth::optional), client_context("", "")));
    CHECK(none.server_saw == "");
    CHECK(none.client_got == "hello stranger");
    Outcome other = weft::run(mutual(server_context(tls::ClientAuth::optional),
                                     client_context(certs.other_client_cert_file, certs.other_client_key_file)));
    CHECK(starts_with(other.server_saw, "error: "));
    CHECK(starts_with(other.client_got, "error: "));
}

TEST_CASE("tls_client_auth: a server that does not ask gets no certificate, peer_subject is then empty",
          "[tls][mtls]") {
    REQUIRE_OPENSSL();
    const auto& certs = test::shared_test_certs();
    Outcome out = weft::run(
        mutual(server_context(tls::ClientAuth::none), client_context(certs.client_cert_file, certs.client_key_file)));
    CHECK(out.server_saw == "");
    CHECK(out.client_saw == "CN=localhost");
    CHECK(out.client_got == "hello stranger");
}

TEST_CASE("tls_client_auth: misconfiguration is UsageError or TlsError naming the file", "[tls][mtls]") {
    REQUIRE_OPENSSL();
    const auto& certs = test::shared_test_certs();
    CHECK_THROWS_AS(tls::Context::client({.ca_file = certs.ca_file, .cert_file = certs.client_cert_file}),
                    weft::UsageError);
    CHECK_THROWS_AS(tls::Context::client({.ca_file = certs.ca_file, .key_file = certs.client_key_file}),
                    weft::UsageError);
    CHECK_THROWS_AS(tls::Context::server(certs.cert_file, certs.key_file, {.client_auth = tls::ClientAuth::required}),
                    weft::UsageError);
    CHECK_THROWS_AS(tls::Context::server(certs.cert_file, certs.key_file, {.client_ca_file = certs.ca_file}),
                    weft::UsageError);
    CHECK_THROWS_WITH(
        tls::Context::client({.cert_file = certs.dir + "/missing.pem", .key_file = certs.client_key_file}),
        Catch::Contains("missing.pem"));
    CHECK_THROWS_WITH(tls::Context::client({.cert_file = certs.client_cert_file, .key_file = certs.key_file}),
                      Catch::Contains("server.key"));  // (OpenSSL: "key values mismatch")
    CHECK_THROWS_WITH(tls::Context::server(
                          certs.cert_file, certs.key_file,
                          {.client_auth = tls::ClientAuth::required, .client_ca_file = certs.dir + "/missing_ca.pem"}),
                      Catch::Contains("missing_ca.pem"));
}

// `openssl s_client -cert` against a weft server that requires client certificates.
weft::Task<std::string> s_client_with_cert(bool with_cert) {
    const auto& certs = test::shared_test_certs();
    TcpListener listener = TcpListener::bind(SocketAddress::ip("127.0.0.1", 0));
    auto server = weft::spawn(serve_one(listener, server_context(tls::ClientAuth::required)));
    std::vector<std::string> argv = {"openssl",
                                     "s_client",
                                     "-connect",
                                     "127.0.0.1:" + std::to_string(listener.local_address().port()),
                                     "-CAfile",
                                     certs.ca_file,
                                     "-verify_return_error",
                                     "-quiet"};
    if (with_cert) {
        argv.insert(argv.end(), {"-cert", certs.client_cert_file, "-key", certs.client_key_file});
    }
    auto client = weft::process::spawn(argv, {.in = Stdio::null, .out = Stdio::pipe, .err = Stdio::merge});
    std::string output;
    {
        auto scope = weft::timeout(20s);
        weft::process::Output finished = co_await client.communicate();
        output = std::move(finished.out);
    }
    std::string saw = co_await server;
    co_return saw + "|" + output;
}

TEST_CASE("tls_client_auth: openssl s_client with a client certificate -> weft server that requires one",
          "[tls][mtls][interop]") {
    REQUIRE_OPENSSL();
    std::string with = weft::run(s_client_with_cert(true));
    INFO(with);
    CHECK(starts_with(with, "CN=weft test client,O=weft|"));
    CHECK(with.find("hello CN=weft test client,O=weft") != std::string::npos);
    std::string without = weft::run(s_client_with_cert(false));
    INFO(without);
    CHECK(starts_with(without, "error: "));
    CHECK(without.find("hello") == std::string::npos);
}

// A weft client with a certificate against `openssl s_server -Verify 1` (which requires one).
weft::Task<std::string> weft_client_to_verifying_s_server(bool with_cert) {
    const auto& certs = test::shared_test_certs();
    std::vector<std::string> argv = {
        "openssl",      "s_server", "-accept",     "127.0.0.1:0", "-cert", certs.cert_file,        "-key",
        certs.key_file, "-CAfile",  certs.ca_file, "-Verify",     "1",     "-verify_return_error", "-rev",
        "-naccept",     "1"};
    auto server = weft::process::spawn(argv, {.in = Stdio::null, .out = Stdio::pipe, .err = Stdio::merge});
    std::string output;
    std::uint16_t port = 0;
    std::string result;
    {
        auto scope = weft::timeout(20s);
        char buf[4096];
        while (output.find("ACCEPT 127.0.0.1:") == std::string::npos) {
            std::size_t n = co_await server.out().read(buf, sizeof buf);
            if (n == 0) co_return "s_server did not start: " + output;
            output.append(buf, n);
        }
        std::size_t at = output.find("ACCEPT 127.0.0.1:") + std::string_view("ACCEPT 127.0.0.1:").size();
        port = static_cast<std::uint16_t>(std::stoi(output.substr(at)));
        try {
            TcpStream tcp = co_await TcpStream::connect("127.0.0.1", port);
            tls::Context ctx =
                with_cert ? client_context(certs.client_cert_file, certs.client_key_file) : client_context("", "");
            tls::Stream stream = co_await tls::Stream::connect(std::move(tcp), std::move(ctx), "localhost");
            co_await stream.write_all(std::string_view("hello from weft\n"));
            weft::net::StreamReader reader(std::move(stream));
            auto line = co_await reader.read_line();
            result = line.value_or("<end of stream>");
        } catch (const weft::Error& e) {
            result = std::string("error: ") + e.what();
        }
        while (std::size_t n = co_await server.out().read(buf, sizeof buf)) output.append(buf, n);
    }
    server.kill();
    co_return result + "|" + output;
}

TEST_CASE("tls_client_auth: weft client with a certificate -> openssl s_server -Verify", "[tls][mtls][interop]") {
    REQUIRE_OPENSSL();
    std::string with = weft::run(weft_client_to_verifying_s_server(true));
    INFO(with);
    CHECK(starts_with(with, "tfew morf olleh|"));  // s_server -rev answers the line reversed
    CHECK(with.find("weft test client") != std::string::npos);  // s_server printed our subject
    std::string without = weft::run(weft_client_to_verifying_s_server(false));
    INFO(without);
    CHECK(starts_with(without, "error: "));
}

// A client that resumes its session (as curl and browsers do) against a server that verifies
// client certificates: OpenSSL refuses to resume without a session id context, failing the
// second handshake. `openssl s_client -sess_out` then `-sess_in`, with a client certificate.
weft::Task<std::string> s_client_resumes(std::string session_file) {
    const auto& certs = test::shared_test_certs();
    TcpListener listener = TcpListener::bind(SocketAddress::ip("127.0.0.1", 0));
    std::string transcript;
    tls::Context server_ctx = server_context(tls::ClientAuth::required);  // one server: its session cache
    for (int round = 0; round < 2; ++round) {
        auto server = weft::spawn(serve_one(listener, server_ctx));
        std::vector<std::string> argv = {"openssl",
                                         "s_client",
                                         "-connect",
                                         "127.0.0.1:" + std::to_string(listener.local_address().port()),
                                         "-CAfile",
                                         certs.ca_file,
                                         "-verify_return_error",
                                         "-cert",
                                         certs.client_cert_file,
                                         "-key",
                                         certs.client_key_file,
                                         "-tls1_2",
                                         "-ign_eof",
                                         round == 0 ? "-sess_out" : "-sess_in",
                                         session_file};
        auto client = weft::process::spawn(argv, {.in = Stdio::null, .out = Stdio::pipe, .err = Stdio::merge});
        std::string output;
        {
            auto scope = weft::timeout(20s);
            weft::process::Output finished = co_await client.communicate();
            output = std::move(finished.out);
        }
        std::string saw = co_await server;
        transcript += "round " + std::to_string(round) + ": server saw [" + saw + "]";
        transcript += output.find("Reused, TLSv1.2") != std::string::npos ? " reused" : " new";
        transcript += output.find("hello CN=weft test client,O=weft") != std::string::npos ? " greeted\n" : " -\n";
    }
    co_return transcript;
}

TEST_CASE("tls_client_auth: a client that resumes its session is accepted again, resumed", "[tls][mtls][interop]") {
    REQUIRE_OPENSSL();
    const std::string session_file = test::shared_test_certs().dir + "/s_client.session";
    std::string transcript = weft::run(s_client_resumes(session_file));
    CHECK(transcript ==
          "round 0: server saw [CN=weft test client,O=weft] new greeted\n"
          "round 1: server saw [CN=weft test client,O=weft] reused greeted\n");
}
