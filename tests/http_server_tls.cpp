// weft::http::Server over TLS (ServerOptions::tls_cert_file/tls_key_file): curl --cacert and
// Python's http.client with an ssl context, against throwaway certificates.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <string>

#include <weft/http/server.hpp>
#include <weft/offload.hpp>
#include <weft/task.hpp>

#include "support/http_server.hpp"
#include "support/test_certs.hpp"

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
