// weft::tls against Python's ssl module through asyncio (start_server / open_connection with
// ssl=): a weft client against an asyncio TLS server, and an asyncio TLS client (verifying
// with the test CA, check_hostname on) against a weft server; 1 MB each way, every byte
// checked, ALPN http/1.1, close_notify at the end. Skipped where python3 or openssl is missing.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <utility>

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

// Byte i of the shared pattern (the Python side builds the same bytes).
std::string pattern(std::size_t size) {
    std::string bytes(size, '\0');
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 131 + 7) & 255);
    return bytes;
}

constexpr const char* kServerPy = R"(
import asyncio, ssl, sys

async def main():
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    ctx.set_alpn_protocols(['http/1.1'])
    n = int(sys.argv[3])
    done = asyncio.Event()
    async def handle(r, w):
        data = await r.readexactly(n)
        ok = data == bytes((i * 131 + 7) & 255 for i in range(n))
        proto = w.get_extra_info('ssl_object').selected_alpn_protocol()
        w.write(f'{ok} {proto}\n'.encode() + data[::-1])
        await w.drain()
        w.close()                # close_notify, then the TCP end
        await w.wait_closed()
        done.set()
    server = await asyncio.start_server(handle, '127.0.0.1', 0, ssl=ctx)
    print(server.sockets[0].getsockname()[1], flush=True)
    await done.wait()

asyncio.run(main())
)";

constexpr const char* kClientPy = R"(
import asyncio, ssl, sys

async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[1])   # check_hostname and CERT_REQUIRED
    ctx.set_alpn_protocols(['http/1.1'])
    r, w = await asyncio.open_connection('127.0.0.1', int(sys.argv[2]), ssl=ctx, server_hostname='localhost')
    n = int(sys.argv[3])
    data = bytes((i * 131 + 7) & 255 for i in range(n))
    w.write(data)
    await w.drain()
    back = await r.readexactly(n)
    rest = await r.read()        # weft's close_notify: b''
    tls = w.get_extra_info('ssl_object')
    print(back == data, tls.selected_alpn_protocol(), tls.version(), len(rest))
    w.close()
    await w.wait_closed()

asyncio.run(main())
)";

std::string python() { return test::have_program("/usr/bin/python3") ? "/usr/bin/python3" : "python3"; }

std::string write_script(const std::string& name, const char* text) {
    std::string path = test::shared_test_certs().dir + "/" + name;
    std::ofstream(path) << text;
    return path;
}

// Kills the child when the test leaves, whatever happened.
class KillOnExit {
public:
    explicit KillOnExit(weft::process::Process& process) : process_(process) {}
    KillOnExit(const KillOnExit&) = delete;
    KillOnExit& operator=(const KillOnExit&) = delete;
    ~KillOnExit() { process_.kill(); }

private:
    weft::process::Process& process_;
};

}  // namespace

TEST_CASE("tls_python: weft client -> asyncio TLS server, 1 MB each way", "[tls][interop]") {
    if (!test::have_program("openssl") || !test::have_program(python())) {
        WARN("openssl or python3 is missing: TLS/Python test skipped (tools/deps)");
        return;
    }
    weft::run([]() -> weft::Task<void> {
        auto deadline = weft::timeout(30s);
        const auto& certs = test::shared_test_certs();
        const std::size_t size = 1 << 20;
        auto server = weft::process::spawn(
            {python(), write_script("tls_server.py", kServerPy), certs.cert_file, certs.key_file, std::to_string(size)},
            {.out = Stdio::pipe});
        KillOnExit kill(server);
        weft::net::StreamReader out(std::move(server.out()));
        auto port_line = co_await out.read_line();
        REQUIRE(port_line.has_value());
        TcpStream tcp = co_await TcpStream::connect("127.0.0.1", static_cast<std::uint16_t>(std::stoi(*port_line)));
        // (The context is built into a local first: g++ 12 frees a temporary inside a co_await
        // expression twice.)
        tls::Context client_ctx = tls::Context::client({.ca_file = certs.ca_file});
        tls::Stream stream = co_await tls::Stream::connect(std::move(tcp), client_ctx, "localhost");
        const std::string data = pattern(size);
        co_await stream.write_all(data.data(), data.size());
        weft::net::StreamReader reader(std::move(stream));
        auto verdict = co_await reader.read_line();
        std::string back = co_await reader.read_exactly(size);
        std::string rest = co_await reader.read_to_end();  // asyncio's close() sent close_notify
        co_await reader.get().shutdown();  // and waits for ours (wait_closed(), SSL unwrap)
        CHECK(verdict == std::optional<std::string>("True http/1.1"));
        CHECK(back == std::string(data.rbegin(), data.rend()));
        CHECK(rest.empty());
        int status = co_await server.wait();
        CHECK(status == 0);
    }());
}

TEST_CASE("tls_python: asyncio TLS client (check_hostname, test CA) -> weft server, 1 MB each way", "[tls][interop]") {
    if (!test::have_program("openssl") || !test::have_program(python())) {
        WARN("openssl or python3 is missing: TLS/Python test skipped (tools/deps)");
        return;
    }
    weft::run([]() -> weft::Task<void> {
        auto deadline = weft::timeout(30s);
        const auto& certs = test::shared_test_certs();
        const std::size_t size = 1 << 20;
        auto listener = TcpListener::bind(SocketAddress::loopback_v4(0));
        auto echo = weft::spawn([](TcpListener* l, tls::Context ctx, std::size_t n) -> weft::Task<std::string> {
            TcpStream tcp = co_await l->accept();
            tls::Stream stream = co_await tls::Stream::accept(std::move(tcp), std::move(ctx));
            std::string alpn(stream.alpn_protocol());
            std::string data(n, '\0');
            std::size_t got = 0;
            while (got < n) {
                std::size_t k = co_await stream.read(data.data() + got, n - got);
                if (k == 0) break;
                got += k;
            }
            co_await stream.write_all(data.data(), got);
            co_await stream.shutdown();
            co_return alpn;
        }(&listener, tls::Context::server(certs.cert_file, certs.key_file), size));
        auto client = weft::process::spawn({python(), write_script("tls_client.py", kClientPy), certs.ca_file,
                                            std::to_string(listener.local_address().port()), std::to_string(size)},
                                           {.out = Stdio::pipe, .err = Stdio::pipe});
        KillOnExit kill(client);
        auto output = co_await client.communicate();
        CAPTURE(output.err);
        CHECK(output.returncode == 0);
        CHECK(output.out == "True http/1.1 TLSv1.3 0\n");
        std::string alpn = co_await echo;
        CHECK(alpn == "http/1.1");
    }());
}
