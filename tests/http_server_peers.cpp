// weft::http::Server against real clients: curl (keep-alive, chunked upload, 100-continue),
// Python's http.client (keep-alive, pipelining on a raw socket) and aiohttp (concurrent
// requests, a streamed upload), and 100 MB each way streamed with every byte checked.
// Skipped (with a warning) where curl or /usr/bin/python3 (with aiohttp) is missing.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>

#include <weft/http/server.hpp>
#include <weft/offload.hpp>
#include <weft/task.hpp>

#include "support/http_server.hpp"

using namespace std::chrono_literals;
using weft::http::Request;
using weft::http::Response;
using weft::http::Router;

namespace {

// The bytes both sides agree on: 64 KiB blocks, each starting with its index (8 bytes, little
// endian), then byte k = k & 255. A lost, repeated or reordered block shows.
constexpr std::size_t kBlock = 64 * 1024;
char pattern_at(std::uint64_t pos) {
    std::uint64_t block = pos / kBlock, off = pos % kBlock;
    if (off < 8) return static_cast<char>((block >> (8 * off)) & 255);
    return static_cast<char>(off & 255);
}

constexpr const char* kPatternPy = R"(
BLOCK = 65536
BASE = bytes(k & 255 for k in range(BLOCK))
def block(i):
    return i.to_bytes(8, 'little') + BASE[8:]
def pattern(n):
    full, rest = divmod(n, BLOCK)
    for i in range(full):
        yield block(i)
    if rest:
        yield block(full)[:rest]
)";

Router peer_routes() {
    Router router;
    router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
    router.get("/users/{id}", [](Request& req) -> weft::Task<Response> {
        co_return Response::json(R"({"id": ")" + std::string(req.path_param("id")) + R"("})");
    });
    router.post("/echo", [](Request& req) -> weft::Task<Response> {
        std::string_view body = co_await req.body();
        co_return Response::text(std::string(body));
    });
    // Checks a streamed body against the pattern: "ok <bytes> <largest piece>" or "bad at <pos>".
    router.post("/check", [](Request& req) -> weft::Task<Response> {
        std::uint64_t pos = 0;
        std::size_t largest = 0;
        std::int64_t bad = -1;
        for (;;) {
            std::string_view piece = co_await req.read_some();
            if (piece.empty()) break;
            largest = std::max(largest, piece.size());
            for (char c : piece) {
                if (bad < 0 && c != pattern_at(pos)) bad = static_cast<std::int64_t>(pos);
                ++pos;
            }
        }
        if (bad >= 0) co_return Response::text("bad at " + std::to_string(bad));
        co_return Response::text("ok " + std::to_string(pos) + " " + std::to_string(largest));
    });
    router.get("/download/{n}", [](Request& req) -> weft::Task<Response> {
        std::uint64_t n = std::stoull(std::string(req.path_param("n")));
        co_return Response::stream([n](weft::http::BodyWriter& out) -> weft::Task<void> {
            std::string block(kBlock, '\0');
            for (std::uint64_t pos = 0; pos < n;) {
                std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, n - pos));
                for (std::size_t k = 0; k < len; ++k) block[k] = pattern_at(pos + k);
                co_await out.write(std::string_view(block.data(), len));
                pos += len;
            }
        });
    });
    return router;
}

std::string temp_path(const std::string& name) {
    return "/tmp/weft_http_peers_" + std::to_string(::getpid()) + "_" + name;
}

std::string write_pattern_file(const std::string& name, std::size_t size) {
    std::string path = temp_path(name);
    std::ofstream file(path, std::ios::binary);
    std::string block(kBlock, '\0');
    for (std::size_t pos = 0; pos < size; pos += kBlock) {
        std::size_t len = std::min(kBlock, size - pos);
        for (std::size_t k = 0; k < len; ++k) block[k] = pattern_at(pos + k);
        file.write(block.data(), static_cast<std::streamsize>(len));
    }
    return path;
}

bool have_aiohttp() { return std::system("/usr/bin/python3 -c 'import aiohttp' >/dev/null 2>&1") == 0; }

// Runs a Python script (with the pattern helpers) against a server on `options`; its stdout.
test::Finished run_python(const std::string& script, weft::http::ServerOptions options = {}) {
    std::string path = temp_path("client.py");
    std::ofstream(path) << kPatternPy << script;
    test::Finished done = test::with_server(peer_routes(), options, [path](std::uint16_t port) {
        return weft::offload(test::run_process,
                             "timeout 300 /usr/bin/python3 " + path + " " + std::to_string(port) + " 2>&1");
    });
    ::unlink(path.c_str());
    return done;
}

}  // namespace

TEST_CASE("http_server peers: curl, keep-alive across URLs", "[http][server][interop]") {
    if (!test::have("curl")) {
        WARN("curl not found: skipped");
        return;
    }
    test::Finished done = test::with_server(peer_routes(), {}, [](std::uint16_t port) {
        std::string base = "http://127.0.0.1:" + std::to_string(port);
        return weft::offload(test::run_process, "curl -s -S --max-time 60 -w ' %{http_code} %{num_connects}\\n' " +
                                                    base + "/ " + base + "/users/7 " + base + "/nope");
    });
    CHECK(done.status == 0);
    CHECK(done.output == "Hello, World! 200 1\n{\"id\": \"7\"} 200 0\nNot Found\n 404 0\n");
}

TEST_CASE("http_server peers: curl uploads chunked, and with 100-continue", "[http][server][interop]") {
    if (!test::have("curl")) {
        WARN("curl not found: skipped");
        return;
    }
    std::string file = write_pattern_file("upload.bin", 3 << 20);
    test::Finished done = test::with_server(peer_routes(), {.max_body_bytes = 8 << 20}, [file](std::uint16_t port) {
        std::string url = "http://127.0.0.1:" + std::to_string(port) + "/check";
        return weft::offload(test::run_process,
                             "curl -s -S --max-time 60 -H 'Transfer-Encoding: chunked' --data-binary @" + file + " " +
                                 url + "; echo; curl -sv --max-time 60 --data-binary @" + file + " " + url +
                                 " 2>&1 | grep -E '^< HTTP/1.1 100 Continue|^ok|^bad'");
    });
    ::unlink(file.c_str());
    CHECK(done.status == 0);
    CHECK(done.output.rfind("ok 3145728 ", 0) == 0);
    CHECK(done.output.find("\n< HTTP/1.1 100 Continue\r\nok 3145728 ") != std::string::npos);
}

TEST_CASE("http_server peers: Python http.client, keep-alive and pipelined on a raw socket",
          "[http][server][interop]") {
    if (!test::have("/usr/bin/python3")) {
        WARN("/usr/bin/python3 not found: skipped");
        return;
    }
    test::Finished done = run_python(R"(
import http.client, socket, sys
port = int(sys.argv[1])
c = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
for i in range(20):
    c.request('GET', '/users/%d' % i)
    r = c.getresponse()
    assert r.status == 200 and r.read() == b'{"id": "%d"}' % i, i
c.request('POST', '/echo', body=b'x' * 100000)
r = c.getresponse()
assert r.status == 200 and r.read() == b'x' * 100000
c.request('POST', '/echo', body=iter([b'chunk-one ', b'chunk-two']))   # chunked
r = c.getresponse()
assert r.read() == b'chunk-one chunk-two'
c.request('POST', '/echo', body=b'y' * 2000000)                     # over 1 MiB: 413
r = c.getresponse()
assert r.status == 413, r.status
r.read()
s = socket.create_connection(('127.0.0.1', port))
s.sendall(b''.join(b'GET /users/%d HTTP/1.1\r\nHost: x\r\n\r\n' % i for i in range(16)))
class Shared:                      # one buffered reader for all 16 responses
    def __init__(self, f): self.f = f
    def makefile(self, mode): return self
    def readline(self, *a): return self.f.readline(*a)
    def read(self, *a): return self.f.read(*a)
    def readinto(self, b): return self.f.readinto(b)
    def close(self): pass
    def flush(self): pass
shared = Shared(s.makefile('rb'))
for i in range(16):
    r = http.client.HTTPResponse(shared)
    r.begin()
    assert r.read() == b'{"id": "%d"}' % i
print('ok')
)");
    CHECK(done.output == "ok\n");
    CHECK(done.status == 0);
}

TEST_CASE("http_server peers: aiohttp client, 500 concurrent requests and a streamed upload",
          "[http][server][interop]") {
    if (!have_aiohttp()) {
        WARN("/usr/bin/python3 with aiohttp not found: skipped");
        return;
    }
    test::Finished done = run_python(R"(
import asyncio, sys, aiohttp
port = int(sys.argv[1])
async def main():
    base = 'http://127.0.0.1:%d' % port
    async with aiohttp.ClientSession() as s:
        async def one(i):
            async with s.get(base + '/users/%d' % i) as r:
                return r.status, await r.json()
        got = await asyncio.gather(*(one(i) for i in range(500)))
        assert all(st == 200 and j == {'id': str(i)} for i, (st, j) in enumerate(got))
        async def gen():
            for b in pattern(5 * 65536 + 123):
                yield b
        async with s.post(base + '/check', data=gen()) as r:
            assert (await r.text()).startswith('ok %d ' % (5 * 65536 + 123))
        async with s.get(base + '/') as r:
            assert await r.text() == 'Hello, World!' and r.headers['Content-Length'] == '13'
    print('ok')
asyncio.run(main())
)");
    CHECK(done.output == "ok\n");
    CHECK(done.status == 0);
}

TEST_CASE("http_server peers: 100 MB up and 100 MB down, streamed, every byte checked", "[http][server][interop]") {
    if (!test::have("/usr/bin/python3")) {
        WARN("/usr/bin/python3 not found: skipped");
        return;
    }
    rusage before{};
    ::getrusage(RUSAGE_SELF, &before);
    test::Finished done = run_python(R"(
import hashlib, http.client, sys
port = int(sys.argv[1])
N = 100 * 1000 * 1000
c = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
c.putrequest('POST', '/check')
c.putheader('Content-Length', str(N))
c.endheaders()
for b in pattern(N):
    c.send(b)
r = c.getresponse()
print(r.read().decode().split(' ')[0:2])
c.request('GET', '/download/%d' % N)
r = c.getresponse()
want, got = hashlib.sha256(), hashlib.sha256()
for b in pattern(N):
    want.update(b)
n = 0
while True:
    b = r.read(1 << 20)
    if not b:
        break
    n += len(b)
    got.update(b)
print(n, want.digest() == got.digest(), r.getheader('Transfer-Encoding'))
)",
                                     {.max_body_bytes = 200'000'000});
    rusage after{};
    ::getrusage(RUSAGE_SELF, &after);
    CHECK(done.output == "['ok', '100000000']\n100000000 True chunked\n");
    CHECK(done.status == 0);
    // Neither body was held in memory: the server's peak grew by far less than 100 MB.
    CHECK(after.ru_maxrss - before.ru_maxrss < 40 * 1024);
}
