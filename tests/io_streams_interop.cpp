// The streams against the real world: Python asyncio clients (asyncio.open_connection)
// against a weft start_server, weft open_connection clients against a Python
// asyncio.start_server, and curl against a weft HTTP handler. Exact bytes both ways
// (deterministic patterns, checked on the receiving side). Skipped (with a warning) where
// python3 or curl is missing.
#include <catch2/catch.hpp>

#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/open_connection.hpp>
#include <weft/net/start_server.hpp>
#include <weft/offload.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>

using namespace std::chrono_literals;
using weft::net::Server;
using weft::net::TcpReader;
using weft::net::TcpWriter;

namespace {

// Byte i of pattern `seed`: the Python side builds the same bytes.
std::string pattern(std::size_t size, unsigned seed) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + seed) & 255);
    return bytes;
}

constexpr const char* kPatternPy = R"(
def pat(n, seed):
    period = bytes((i * 131 + seed) & 255 for i in range(256))
    return (period * (n // 256 + 1))[:n]
)";

bool have(const char* tool) {
    return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

std::string write_temp(const std::string& name, const std::string& content) {
    std::string path = "/tmp/weft_interop_" + std::to_string(::getpid()) + "_" + name;
    std::ofstream(path, std::ios::binary) << content;
    return path;
}

struct Finished {
    std::string output;
    int status = -1;
};

// The rest of a popen(3)ed command's stdout, then its exit status (blocking: call it offloaded).
Finished read_and_close(FILE* pipe) {
    Finished done;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) done.output.append(buf, n);
    int status = ::pclose(pipe);
    done.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return done;
}

// popen(3) on the blocking pool: the whole stdout, then the exit status.
Finished run_process(const std::string& command) {
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return {};
    return read_and_close(pipe);
}

// The protocol the Python clients speak: echo / upload / download / quit, one per line.
weft::Task<void> protocol(TcpReader reader, TcpWriter writer) {
    while (auto line = co_await reader.read_line()) {
        std::istringstream words(*line);
        std::string verb;
        words >> verb;
        if (verb == "echo") {
            writer.write(line->substr(5) + "\n");
        } else if (verb == "upload") {
            std::size_t size;
            unsigned seed;
            words >> size >> seed;
            std::string body = co_await reader.read_exactly(size);
            writer.write(body == pattern(size, seed) ? "ok " + std::to_string(size) + "\n" : "bad\n");
        } else if (verb == "download") {
            std::size_t size;
            unsigned seed;
            words >> size >> seed;
            std::string body = pattern(size, seed);
            for (std::size_t i = 0; i < size; i += 65536) {
                writer.write(std::string_view(body).substr(i, 65536));
                co_await writer.drain();
            }
        } else {
            break;  // quit
        }
        co_await writer.drain();
    }
    writer.close();
    co_await writer.wait_closed();
}

constexpr const char* kClientsPy = R"(
import asyncio, sys

async def one(port, cid):
    r, w = await asyncio.open_connection('127.0.0.1', port)
    for i in range(50):
        w.write(f'echo c{cid} l{i}\n'.encode())
    await w.drain()
    for i in range(50):
        line = await r.readline()
        assert line == f'c{cid} l{i}\n'.encode(), line
    n = 1_000_000 + cid
    w.write(f'upload {n} {cid}\n'.encode())
    w.write(pat(n, cid))
    await w.drain()
    reply = await r.readline()
    assert reply == f'ok {n}\n'.encode(), reply
    m = 3_000_000 + cid
    w.write(f'download {m} {cid + 1}\n'.encode())
    await w.drain()
    data = await r.readexactly(m)
    assert data == pat(m, cid + 1), 'download differs'
    w.write(b'quit\n')
    await w.drain()
    assert await r.read() == b''
    w.close()
    await w.wait_closed()
    return 1

async def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    done = await asyncio.gather(*(one(port, c) for c in range(count)))
    print('OK', sum(done))

asyncio.run(main())
)";

constexpr const char* kServerPy = R"(
import asyncio, sys

expected = int(sys.argv[1])
served = 0

async def handle(r, w):
    global served
    head = await r.readuntil(b'\r\n\r\n')
    verb, size, seed = head.split(b'\r\n')[0].split()
    size, seed = int(size), int(seed)
    body = await r.readexactly(size)
    reply = pat(2 * size + 1, seed + 7)
    status = b'OK' if verb == b'PUT' and body == pat(size, seed) else b'BAD'
    w.write(status + b' %d\r\n\r\n' % len(reply) + reply)
    await w.drain()
    w.close()
    await w.wait_closed()
    served += 1
    if served == expected:
        server.close()

async def main():
    global server
    server = await asyncio.start_server(handle, '127.0.0.1', 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    try:
        await server.serve_forever()
    except asyncio.CancelledError:
        pass
    print('served', served, flush=True)

asyncio.run(main())
)";

weft::Task<bool> put_to_python(std::uint16_t port, unsigned seed) {
    auto [reader, writer] = co_await weft::net::open_connection("127.0.0.1", port);
    std::size_t size = 500000 + seed * 1000;
    std::string body = pattern(size, seed);
    writer.write("PUT " + std::to_string(size) + " " + std::to_string(seed) + "\r\nX-From: weft\r\n\r\n");
    for (std::size_t i = 0; i < size; i += 30000) {
        writer.write(std::string_view(body).substr(i, 30000));
        co_await writer.drain();
    }
    std::string head = co_await reader.read_until("\r\n\r\n");
    std::string expected_head = "OK " + std::to_string(2 * size + 1) + "\r\n\r\n";
    std::string reply = co_await reader.read_exactly(2 * size + 1);
    std::string rest = co_await reader.read_to_end();
    writer.close();
    co_await writer.wait_closed();
    co_return head == expected_head&& reply == pattern(2 * size + 1, seed + 7) && rest.empty();
}

// A minimal HTTP/1.1 handler for curl: GET /bytes/N and POST /check.
weft::Task<void> http(TcpReader reader, TcpWriter writer) {
    std::string head = co_await reader.read_until("\r\n\r\n");
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    std::istringstream request(head);
    std::string method, path;
    request >> method >> path;
    std::string body;
    if (method == "GET" && path.rfind("/bytes/", 0) == 0) {
        body = pattern(std::stoul(path.substr(7)), 5);
    } else if (method == "POST") {
        std::size_t at = lower.find("content-length:");
        std::size_t length = at == std::string::npos ? 0 : std::stoul(lower.substr(at + 15));
        std::string got = co_await reader.read_exactly(length);
        body = got == pattern(length, 9) ? "ok " + std::to_string(length) : "bad";
    }
    writer.write("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n");
    for (std::size_t i = 0; i < body.size(); i += 65536) {
        writer.write(std::string_view(body).substr(i, 65536));
        co_await writer.drain();
    }
    writer.close();
    co_await writer.wait_closed();
}

}  // namespace

TEST_CASE("io_streams_interop: Python asyncio clients against a weft start_server", "[io][interop]") {
    if (!have("python3")) {
        WARN("python3 not found: skipped");
        return;
    }
    std::string script = write_temp("clients.py", std::string(kPatternPy) + kClientsPy);
    Finished done = weft::run(
        [](std::string script) -> weft::Task<Finished> {
            Server server = co_await weft::net::start_server(protocol, "127.0.0.1", 0);
            std::string command = "python3 " + script + " " + std::to_string(server.port()) + " 12";
            Finished done = co_await weft::offload(run_process, command);
            server.close();
            co_await weft::wait_for(server.wait_closed(), 60s);
            co_return done;
        }(script),
        {.workers = 4});
    ::unlink(script.c_str());
    CHECK(done.status == 0);
    CHECK(done.output == "OK 12\n");
}

TEST_CASE("io_streams_interop: weft open_connection clients against a Python asyncio server", "[io][interop]") {
    if (!have("python3")) {
        WARN("python3 not found: skipped");
        return;
    }
    constexpr int kClients = 8;
    std::string script = write_temp("server.py", std::string(kPatternPy) + kServerPy);
    auto [good, done] = weft::run(
        [](std::string script) -> weft::Task<std::pair<int, Finished>> {
            // Start the server; its first line is the port it bound.
            FILE* server = co_await weft::offload(
                [&] { return ::popen(("python3 " + script + " " + std::to_string(kClients)).c_str(), "r"); });
            REQUIRE(server);
            std::string port_line = co_await weft::offload([server] {
                char line[64] = {};
                return std::string(std::fgets(line, sizeof line, server) ? line : "");
            });
            REQUIRE(!port_line.empty());
            auto port = static_cast<std::uint16_t>(std::stoul(port_line));
            std::vector<weft::JoinHandle<bool>> clients;
            for (unsigned c = 0; c < kClients; ++c) clients.push_back(weft::spawn(put_to_python(port, c)));
            int good = 0;
            for (auto& c : clients) good += (co_await weft::wait_for(std::move(c), 60s)) ? 1 : 0;
            Finished done = co_await weft::offload([server] { return read_and_close(server); });
            co_return std::pair{good, done};
        }(script),
        {.workers = 4});
    ::unlink(script.c_str());
    CHECK(good == kClients);
    CHECK(done.status == 0);
    CHECK(done.output == "served " + std::to_string(kClients) + "\n");
}

TEST_CASE("io_streams_interop: curl against a weft start_server", "[io][interop]") {
    if (!have("curl")) {
        WARN("curl not found: skipped");
        return;
    }
    const std::string upload = pattern(700000, 9);
    std::string file = write_temp("upload.bin", upload);
    auto [got, posted] = weft::run([](std::string file) -> weft::Task<std::pair<Finished, Finished>> {
        Server server = co_await weft::net::start_server(http, "127.0.0.1", 0);
        std::string base = "curl -s -S --max-time 60 http://127.0.0.1:" + std::to_string(server.port());
        Finished got = co_await weft::offload(run_process, base + "/bytes/5000000");
        Finished posted = co_await weft::offload(run_process, base + "/check -H 'Expect:' --data-binary @" + file);
        server.close();
        co_await weft::wait_for(server.wait_closed(), 60s);
        co_return std::pair{got, posted};
    }(file));
    ::unlink(file.c_str());
    CHECK(got.status == 0);
    CHECK(got.output.size() == 5000000);
    CHECK(got.output == pattern(5000000, 5));
    CHECK(posted.status == 0);
    CHECK(posted.output == "ok 700000");
}
