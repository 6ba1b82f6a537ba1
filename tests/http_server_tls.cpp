// weft::http::Server over TLS (ServerOptions::tls_cert_file/tls_key_file): curl --cacert and
// Python's http.client with an ssl context, against throwaway certificates; with client
// certificates required (tls_client_auth): curl --cert, Python's load_cert_chain and weft's
// own http::Client, each accepted with the test CA's client certificate and refused without;
// a graceful stop while a TLS handshake is in progress.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>

#include <weft/error.hpp>
#include <weft/http/client.hpp>
#include <weft/http/server.hpp>
#include <weft/io_error.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/offload.hpp>
#include <weft/run.hpp>
#include <weft/shutdown.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>

#include "support/http_server.hpp"
#include "support/test_certs.hpp"

using namespace std::chrono_literals;
using weft::http::Request;
using weft::http::Response;
using weft::http::Router;

namespace {

Router tls_routes() {
    Router router;
    router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
    router.post("/echo", [](Request& req) -> weft::Task<Response> {
        std::string_view body = co_await req.body();
        co_return Response::text(std::string(body));
    });
    router.get("/stream", [](Request&) -> weft::Task<Response> {
        co_return Response::stream([](weft::http::BodyWriter& out) -> weft::Task<void> {
            for (int i = 0; i < 100; ++i) co_await out.write(std::string(1000, static_cast<char>('a' + i % 26)));
        });
    });
    return router;
}

weft::http::ServerOptions https(const test::TestCerts& certs) {
    return {.tls_cert_file = certs.cert_file, .tls_key_file = certs.key_file};
}

// HTTPS that requires a client certificate from the test CA; "/whoami" answers its subject.
weft::http::ServerOptions mutual_https(const test::TestCerts& certs) {
    return {.tls_cert_file = certs.cert_file,
            .tls_key_file = certs.key_file,
            .tls_client_auth = weft::tls::ClientAuth::required,
            .tls_client_ca_file = certs.ca_file};
}

Router whoami_routes() {
    Router router;
    router.get("/whoami", [](Request& req) -> weft::Task<Response> {
        co_return Response::text("you are " + std::string(req.peer_subject()));
    });
    return router;
}

}  // namespace

TEST_CASE("http_server tls: curl --cacert over https, keep-alive, a body each way", "[http][server][tls]") {
    if (!test::have("curl") || !test::have_program("openssl")) {
        WARN("curl or openssl not found: skipped");
        return;
    }
    const test::TestCerts& certs = test::shared_test_certs();
    std::string ca = certs.ca_file;
    test::Finished done = test::with_server(tls_routes(), https(certs), [ca](std::uint16_t port) {
        std::string base = "https://127.0.0.1:" + std::to_string(port);
        return weft::offload(test::run_process, "curl -s -S --max-time 60 --cacert " + ca +
                                                    " -w ' %{http_code} %{num_connects}\\n' " + base + "/ " + base +
                                                    "/; curl -s -S --max-time 60 --cacert " + ca +
                                                    " --data-binary 'over tls' " + base + "/echo");
    });
    CHECK(done.status == 0);
    CHECK(done.output == "Hello, World! 200 1\nHello, World! 200 0\nover tls");
}

TEST_CASE("http_server tls: a plain HTTP request to the TLS port is answered 400 in plain text, as nginx does",
          "[http][server][tls]") {
    if (!test::have_program("openssl")) {
        WARN("openssl not found: skipped");
        return;
    }
    const test::TestCerts& certs = test::shared_test_certs();
    std::string out = test::with_server(tls_routes(), https(certs), [](std::uint16_t port) {
        return test::exchange(port, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    });
    CHECK(out.substr(0, out.find("\r\n")) == "HTTP/1.1 400 Bad Request");
    CHECK(out.find("Connection: close\r\n") != std::string::npos);
    CHECK(out.find("The plain HTTP request was sent to HTTPS port") != std::string::npos);
    if (test::have("curl")) {
        test::Finished done = test::with_server(tls_routes(), https(certs), [](std::uint16_t port) {
            return weft::offload(
                test::run_process,
                "curl -s --max-time 60 -o /dev/null -w '%{http_code}' http://127.0.0.1:" + std::to_string(port) + "/");
        });
        CHECK(done.output == "400");
    }
}

TEST_CASE("http_server tls: Python http.client with an ssl context", "[http][server][tls]") {
    if (!test::have("/usr/bin/python3") || !test::have_program("openssl")) {
        WARN("/usr/bin/python3 or openssl not found: skipped");
        return;
    }
    const test::TestCerts& certs = test::shared_test_certs();
    std::string script = "/tmp/weft_http_tls_" + std::to_string(::getpid()) + ".py";
    std::ofstream(script) << R"(
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
c = http.client.HTTPSConnection('127.0.0.1', int(sys.argv[1]), context=ctx, timeout=60)
for i in range(10):
    c.request('POST', '/echo', body=b'%d' % i * 1000)
    r = c.getresponse()
    assert r.read() == b'%d' % i * 1000
c.request('GET', '/stream')
r = c.getresponse()
body = r.read()
assert len(body) == 100000 and r.getheader('Transfer-Encoding') == 'chunked'
print('ok', c.sock.version())
)";
    std::string ca = certs.ca_file;
    test::Finished done = test::with_server(tls_routes(), https(certs), [script, ca](std::uint16_t port) {
        return weft::offload(test::run_process, "timeout 120 /usr/bin/python3 " + script + " " + std::to_string(port) +
                                                    " " + ca + " 2>&1");
    });
    ::unlink(script.c_str());
    CHECK(done.output == "ok TLSv1.3\n");
    CHECK(done.status == 0);
}

TEST_CASE("http_server tls: client certificates required: curl --cert accepted (the handler sees its subject), "
          "refused without",
          "[http][server][tls][mtls]") {
    if (!test::have("curl") || !test::have_program("openssl")) {
        WARN("curl or openssl not found: skipped");
        return;
    }
    const test::TestCerts& certs = test::shared_test_certs();
    const std::string curl = "curl -s -S --max-time 60 --cacert " + certs.ca_file;
    const std::string with_cert = curl + " --cert " + certs.client_cert_file + " --key " + certs.client_key_file;
    const std::string other_cert =
        curl + " --cert " + certs.other_client_cert_file + " --key " + certs.other_client_key_file;
    test::Finished done = test::with_server(whoami_routes(), mutual_https(certs), [=](std::uint16_t port) {
        std::string url = "https://127.0.0.1:" + std::to_string(port) + "/whoami";
        return weft::offload(test::run_process, with_cert + " " + url + "; echo; " + curl + " " + url +
                                                    " >/dev/null 2>&1; echo \"without: $?\"; " + other_cert + " " +
                                                    url + " >/dev/null 2>&1; echo \"other CA: $?\"");
    });
    INFO(done.output);
    CHECK(done.output.rfind("you are CN=weft test client,O=weft\n", 0) == 0);
    // curl fails (a TLS error: exit 35 or 56, as the alert arrives) rather than getting a response.
    CHECK(done.output.find("without: 0") == std::string::npos);
    CHECK(done.output.find("without: ") != std::string::npos);
    CHECK(done.output.find("other CA: 0") == std::string::npos);
    CHECK(done.output.find("other CA: ") != std::string::npos);
}

TEST_CASE("http_server tls: client certificates required: Python's ssl load_cert_chain accepted, refused without",
          "[http][server][tls][mtls]") {
    if (!test::have("/usr/bin/python3") || !test::have_program("openssl")) {
        WARN("/usr/bin/python3 or openssl not found: skipped");
        return;
    }
    const test::TestCerts& certs = test::shared_test_certs();
    std::string script = "/tmp/weft_http_mtls_" + std::to_string(::getpid()) + ".py";
    std::ofstream(script) << R"(
import http.client, ssl, sys
port, ca, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
c = http.client.HTTPSConnection('127.0.0.1', port, context=ctx, timeout=60)
c.request('GET', '/whoami')
print(c.getresponse().read().decode())
bare = ssl.create_default_context(cafile=ca)
c = http.client.HTTPSConnection('127.0.0.1', port, context=bare, timeout=60)
try:
    c.request('GET', '/whoami')
    print('unexpected', c.getresponse().status)
except (ssl.SSLError, ConnectionError) as e:
    print('refused')
)";
    std::string args = certs.ca_file + " " + certs.client_cert_file + " " + certs.client_key_file;
    test::Finished done = test::with_server(whoami_routes(), mutual_https(certs), [script, args](std::uint16_t port) {
        return weft::offload(test::run_process, "timeout 120 /usr/bin/python3 " + script + " " + std::to_string(port) +
                                                    " " + args + " 2>&1");
    });
    ::unlink(script.c_str());
    CHECK(done.output == "you are CN=weft test client,O=weft\nrefused\n");
    CHECK(done.status == 0);
}

TEST_CASE("http_server tls: client certificates required: weft's http::Client with cert_file/key_file",
          "[http][server][tls][mtls]") {
    if (!test::have_program("openssl")) {
        WARN("openssl not found: skipped");
        return;
    }
    const test::TestCerts& certs = test::shared_test_certs();
    std::string out = test::with_server(
        whoami_routes(), mutual_https(certs), [&certs](std::uint16_t port) -> weft::Task<std::string> {
            std::string url = "https://localhost:" + std::to_string(port) + "/whoami";
            weft::http::Client client(
                {.ca_file = certs.ca_file, .cert_file = certs.client_cert_file, .key_file = certs.client_key_file});
            auto response = co_await client.get(url);
            std::string got = co_await response.text();
            weft::http::Client bare({.ca_file = certs.ca_file});
            try {
                auto refused = co_await bare.get(url);
                got += " | unexpected " + std::to_string(refused.status());
            } catch (const weft::Error&) {
                got += " | refused";
            }
            co_return got;
        });
    CHECK(out == "you are CN=weft test client,O=weft | refused");
}

TEST_CASE("http_server tls: client certificate options are checked", "[http][server][tls][mtls]") {
    CHECK_THROWS_AS(weft::http::Server(
                        Router{}, {.tls_client_auth = weft::tls::ClientAuth::required, .tls_client_ca_file = "ca.pem"}),
                    weft::UsageError);
    CHECK_THROWS_AS(weft::http::Client({.cert_file = "client.pem"}), weft::UsageError);
    CHECK_THROWS_AS(weft::http::Client({.key_file = "client.key"}), weft::UsageError);
}

TEST_CASE("http_server tls: a stop during a TLS handshake closes it and waits for it, so the Server may go",
          "[http][server][tls][shutdown]") {
    if (!test::have_program("openssl")) {
        WARN("openssl not found: skipped");
        return;
    }
    const test::TestCerts& certs = test::shared_test_certs();
    struct Outcome {
        std::size_t during = 0;  // connections() while the handshake waits
        bool clean = false;
        std::size_t after = 1;  // connections() once the stop returned
        bool handshake_failed = false;
    };
    Outcome out = weft::run(
        [](const test::TestCerts& certs) -> weft::Task<Outcome> {
            Outcome o;
            // Long timeouts: only a stop that cancels the handshake ends it within the hang guards.
            weft::http::ServerOptions options = https(certs);
            options.header_read_timeout = 1h;
            options.graceful_timeout = 1h;
            auto server = std::make_unique<weft::http::Server>(tls_routes(), options);
            server->listen(weft::net::SocketAddress::ip("127.0.0.1", 0));
            weft::Shutdown shutdown;
            shutdown.spawn(server->serve(), "http");

            // Connected, nothing sent: the server's handshake waits for the ClientHello.
            auto tcp = co_await weft::net::TcpStream::connect("127.0.0.1", server->local_address().port());
            // Until the acceptor has taken it (a condition, polled; 10 s is only a hang guard).
            const auto give_up = weft::now() + 10s;
            while (server->connections() == 0 && weft::now() < give_up) co_await weft::sleep(1ms);
            o.during = server->connections();

            weft::Task<weft::ShutdownReport> stopping = shutdown.run(2h);
            weft::ShutdownReport report = co_await weft::wait_for(std::move(stopping), 60s);
            o.clean = report.clean();
            o.after = server->connections();
            server.reset();  // serve() has returned: nothing may touch the Server any more

            // The client finishes its handshake now: the server side must be gone, not resumed.
            weft::tls::Context client_ctx = weft::tls::Context::client({.ca_file = certs.ca_file});
            try {
                weft::tls::Stream s = co_await weft::tls::Stream::connect(std::move(tcp), client_ctx, "localhost");
                co_await s.write_all(std::string_view("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
                char buf[4096];
                for (;;) {
                    std::size_t n = co_await s.read(buf, sizeof buf);
                    if (n == 0) break;
                }
            } catch (const weft::IoError&) {  // (TlsError, UnexpectedEof, ConnectionReset)
                o.handshake_failed = true;
            }
            co_return o;
        }(certs),
        {.workers = 2});
    CHECK(out.during == 1);  // the handshake counts as a connection
    CHECK(out.clean);
    CHECK(out.after == 0);
    CHECK(out.handshake_failed);
}
