// weft::tls against real peers: weft clients against `openssl s_server` (verification with the
// test CA, refused with another CA, with a wrong host name and with the system store; ALPN;
// TLS 1.2), and `openssl s_client` and curl against a weft TLS server. Certificates are made
// at test time (support/test_certs.hpp). Skipped (with a warning) where openssl or curl is
// missing. Every external process runs under a deadline and is killed in cleanup.
#include <catch2/catch.hpp>

#include <openssl/x509_vfy.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/error.hpp>
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

#define REQUIRE_PROGRAM(name)                                                           \
    if (!test::have_program(name)) {                                                    \
        WARN("the " name " command is missing: TLS interop test skipped (tools/deps)"); \
        return;                                                                         \
    }

// Kills the child when the test leaves, whatever happened (it is reaped in the background).
class KillOnExit {
public:
    explicit KillOnExit(weft::process::Process& process) : process_(process) {}
    KillOnExit(const KillOnExit&) = delete;
    KillOnExit& operator=(const KillOnExit&) = delete;
    ~KillOnExit() { process_.kill(); }

private:
    weft::process::Process& process_;
};

// Reads the child's output into `seen` until it holds `needle`; false at its end.
weft::Task<bool> read_until_seen(weft::net::PipeReader& out, std::string& seen, std::string_view needle) {
    char buf[4096];
    while (seen.find(needle) == std::string::npos) {
        std::size_t n = co_await out.read(buf, sizeof buf);
        if (n == 0) co_return false;
        seen.append(buf, n);
    }
    co_return true;
}

// `openssl s_server -rev` (answers each line reversed) on an ephemeral loopback port.
struct SServer {
    weft::process::Process process;
    std::uint16_t port = 0;
    std::string output;
};

weft::Task<SServer> start_s_server(std::vector<std::string> extra = {}) {
    const auto& certs = test::shared_test_certs();
    std::vector<std::string> argv = {"openssl", "s_server",     "-accept", "127.0.0.1:0", "-cert", certs.cert_file,
                                     "-key",    certs.key_file, "-alpn",   "http/1.1",    "-rev",  "-naccept",
                                     "1"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    SServer server;
    server.process = weft::process::spawn(argv, {.in = Stdio::null, .out = Stdio::pipe, .err = Stdio::merge});
    bool up = co_await read_until_seen(server.process.out(), server.output, "ACCEPT 127.0.0.1:");
    if (up) {
        std::size_t at = server.output.find("ACCEPT 127.0.0.1:") + std::string_view("ACCEPT 127.0.0.1:").size();
        server.port = static_cast<std::uint16_t>(std::stoi(server.output.substr(at)));
    }
    co_return server;
}

// Connects to s_server, sends a line, returns the reversed line it answers (or throws).
weft::Task<std::string> rev_round_trip(std::uint16_t port, tls::Context ctx, std::string name,
                                       std::string* alpn = nullptr, std::string* version = nullptr) {
    TcpStream tcp = co_await TcpStream::connect("127.0.0.1", port);
    tls::Stream stream = co_await tls::Stream::connect(std::move(tcp), std::move(ctx), std::move(name));
    if (alpn) *alpn = std::string(stream.alpn_protocol());
    if (version) *version = std::string(stream.protocol_version());
    co_await stream.write_all(std::string_view("hello from weft\n"));
    weft::net::StreamReader reader(std::move(stream));
    auto line = co_await reader.read_line();
    co_await reader.get().shutdown();
    co_return line.value_or("<end of stream>");
}

}  // namespace

TEST_CASE("tls_interop: weft client -> openssl s_server, verified with the test CA, ALPN http/1.1", "[tls][interop]") {
    REQUIRE_PROGRAM("openssl");
    auto version = GENERATE(std::string("TLSv1.3"), std::string("TLSv1.2"));
    CAPTURE(version);
    weft::run([](std::string want) -> weft::Task<void> {
        auto deadline = weft::timeout(20s);
        std::vector<std::string> extra;
        if (want == "TLSv1.2") extra.push_back("-tls1_2");
        SServer server = co_await start_s_server(extra);
        KillOnExit kill(server.process);
        REQUIRE(server.port != 0);
        std::string alpn;
        std::string negotiated;
        std::string reply =
            co_await rev_round_trip(server.port, tls::Context::client({.ca_file = test::shared_test_certs().ca_file}),
                                    "localhost", &alpn, &negotiated);
        CHECK(reply == "tfew morf olleh");
        CHECK(alpn == "http/1.1");
        CHECK(negotiated == want);
        int status = co_await server.process.wait();  // -naccept 1: it exits after us
        CHECK(status == 0);
    }(version));
}

TEST_CASE("tls_interop: weft client -> openssl s_server, refused: other CA, wrong host, system store",
          "[tls][interop]") {
    REQUIRE_PROGRAM("openssl");
    struct Case {
        const char* what;
        bool system_store;
        bool other_ca;
        const char* name;
        long expected;
    };
    auto c =
        GENERATE(Case{"trusting another CA", false, true, "localhost", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
                 Case{"a wrong host name", false, false, "example.com", X509_V_ERR_HOSTNAME_MISMATCH},
                 Case{"a wrong IP address", false, false, "127.0.0.2", X509_V_ERR_IP_ADDRESS_MISMATCH},
                 Case{"the system store", true, false, "localhost", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY});
    CAPTURE(c.what);
    weft::run([](Case c) -> weft::Task<void> {
        auto deadline = weft::timeout(20s);
        SServer server = co_await start_s_server();
        KillOnExit kill(server.process);
        REQUIRE(server.port != 0);
        const auto& certs = test::shared_test_certs();
        tls::Context ctx = c.system_store
                               ? tls::Context::client()
                               : tls::Context::client({.ca_file = c.other_ca ? certs.other_ca_file : certs.ca_file});
        std::string message;
        long result = X509_V_OK;
        std::string host;
        try {
            co_await rev_round_trip(server.port, ctx, c.name);
        } catch (const tls::CertificateError& e) {
            message = e.what();
            result = e.verify_result();
            host = e.host();
        }
        CAPTURE(message);
        CHECK(result == c.expected);
        CHECK(host == c.name);
        CHECK(message.find(c.name) != std::string::npos);
        // s_server saw the client's alert: the handshake failed on its side too.
        co_await read_until_seen(server.process.out(), server.output, "ERROR");
        CAPTURE(server.output);
        CHECK(server.output.find("alert") != std::string::npos);
    }(c));
}

namespace {

// A tiny HTTPS responder: reads one request head, answers "hello", sends close_notify.
weft::Task<std::string> answer_one_https(TcpListener* listener, tls::Context ctx) {
    TcpStream tcp = co_await listener->accept();
    tls::Stream stream = co_await tls::Stream::accept(std::move(tcp), std::move(ctx));
    std::string alpn(stream.alpn_protocol());
    weft::net::StreamReader reader(std::move(stream));
    std::string head = co_await reader.read_until("\r\n\r\n");
    co_await reader.get().write_all(std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"));
    co_await reader.get().shutdown();
    co_return alpn + " " + head.substr(0, head.find("\r\n"));
}

// Answers one line with the same line upper-cased, then close_notify.
weft::Task<std::string> answer_one_line(TcpListener* listener, tls::Context ctx) {
    TcpStream tcp = co_await listener->accept();
    tls::Stream stream = co_await tls::Stream::accept(std::move(tcp), std::move(ctx));
    weft::net::StreamReader reader(std::move(stream));
    auto line = co_await reader.read_line();
    std::string upper = line.value_or("");
    for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    upper += "\n";
    co_await reader.get().write_all(upper.data(), upper.size());
    co_await reader.get().shutdown();
    co_return line.value_or("<none>");
}

}  // namespace

TEST_CASE("tls_interop: curl --cacert -> weft TLS server: the response, ALPN http/1.1", "[tls][interop]") {
    REQUIRE_PROGRAM("openssl");
    REQUIRE_PROGRAM("curl");
    auto host = GENERATE(std::string("localhost"), std::string("127.0.0.1"));
    CAPTURE(host);
    weft::run([](std::string host) -> weft::Task<void> {
        auto deadline = weft::timeout(20s);
        const auto& certs = test::shared_test_certs();
        auto listener = TcpListener::bind(SocketAddress::loopback_v4(0));
        std::string port = std::to_string(listener.local_address().port());
        auto server = weft::spawn(answer_one_https(&listener, tls::Context::server(certs.cert_file, certs.key_file)));
        auto curl = weft::process::spawn({"curl", "-sS", "--max-time", "15", "--cacert", certs.ca_file, "--resolve",
                                          "localhost:" + port + ":127.0.0.1", "-w", " %{http_version} %{http_code}",
                                          "https://" + host + ":" + port + "/tls-test"},
                                         {.out = Stdio::pipe, .err = Stdio::pipe});
        KillOnExit kill(curl);
        auto output = co_await curl.communicate();
        CAPTURE(output.err);
        CHECK(output.returncode == 0);
        CHECK(output.out == "hello 1.1 200");
        std::string seen = co_await server;
        CHECK(seen == "http/1.1 GET /tls-test HTTP/1.1");
    }(host));
}

TEST_CASE("tls_interop: curl refuses the weft server's certificate without --cacert", "[tls][interop]") {
    REQUIRE_PROGRAM("openssl");
    REQUIRE_PROGRAM("curl");
    weft::run([]() -> weft::Task<void> {
        auto deadline = weft::timeout(20s);
        const auto& certs = test::shared_test_certs();
        auto listener = TcpListener::bind(SocketAddress::loopback_v4(0));
        std::string port = std::to_string(listener.local_address().port());
        auto server = weft::spawn(answer_one_https(&listener, tls::Context::server(certs.cert_file, certs.key_file)));
        auto curl = weft::process::spawn({"curl", "-sS", "--max-time", "15", "https://127.0.0.1:" + port + "/"},
                                         {.out = Stdio::pipe, .err = Stdio::pipe});
        KillOnExit kill(curl);
        auto output = co_await curl.communicate();
        CHECK(output.returncode == 60);  // CURLE_PEER_FAILED_VERIFICATION
        // The server's handshake fails on curl's alert: a TlsError, not a hang.
        bool failed = false;
        try {
            co_await server;
        } catch (const tls::TlsError& e) {
            failed = std::string(e.what()).find("tls::Stream::accept") != std::string::npos;
        }
        CHECK(failed);
    }());
}

TEST_CASE("tls_interop: openssl s_client -> weft TLS server, verified, ALPN http/1.1", "[tls][interop]") {
    REQUIRE_PROGRAM("openssl");
    weft::run([]() -> weft::Task<void> {
        auto deadline = weft::timeout(20s);
        const auto& certs = test::shared_test_certs();
        auto listener = TcpListener::bind(SocketAddress::loopback_v4(0));
        std::string port = std::to_string(listener.local_address().port());
        auto server = weft::spawn(answer_one_line(&listener, tls::Context::server(certs.cert_file, certs.key_file)));
        // -verify_return_error: a verification failure ends the handshake; -ign_eof: stay
        // until the server's close_notify, after its answer.
        auto client = weft::process::spawn(
            {"openssl", "s_client", "-connect", "127.0.0.1:" + port, "-servername", "localhost", "-verify_hostname",
             "localhost", "-CAfile", certs.ca_file, "-verify_return_error", "-alpn", "http/1.1", "-ign_eof"},
            {.in = Stdio::pipe, .out = Stdio::pipe, .err = Stdio::merge});
        KillOnExit kill(client);
        auto output = co_await client.communicate("hello from s_client\n");
        CAPTURE(output.out);
        CHECK(output.returncode == 0);
        CHECK(output.out.find("Verify return code: 0 (ok)") != std::string::npos);
        CHECK(output.out.find("ALPN protocol: http/1.1") != std::string::npos);
        CHECK(output.out.find("HELLO FROM S_CLIENT\n") != std::string::npos);
        std::string line = co_await server;
        CHECK(line == "hello from s_client");
    }());
}
