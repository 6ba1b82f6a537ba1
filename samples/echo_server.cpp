// samples/echo_server: a TCP echo server on 127.0.0.1 with one listener per core and a
// graceful shutdown on SIGINT or SIGTERM.
//
//   echo_server [PORT]      (default 9000; 0 picks a free port)
//
// Prints "listening on 127.0.0.1:PORT" once it accepts connections. On SIGINT/SIGTERM it
// stops accepting, cancels every connection (each handler's cleanup runs), waits up to 5 s
// for them, prints a summary and exits 0 (1 if some connection did not stop in time).
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include <weft/io_error.hpp>
#include <weft/net/serve.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/run.hpp>
#include <weft/shutdown.hpp>
#include <weft/signal.hpp>
#include <weft/task.hpp>

using namespace std::chrono_literals;

namespace {

weft::Task<void> echo(weft::net::TcpStream stream) {
    char buf[4096];
    try {
        while (std::size_t n = co_await stream.read(buf, sizeof buf)) co_await stream.write_all(buf, n);
    } catch (const weft::IoError&) {
        // The client reset the connection: nothing to report.
    }
}

weft::Task<int> serve(std::uint16_t port) {
    weft::SignalListener signals({SIGINT, SIGTERM});  // from here on, these do not kill us
    weft::Shutdown shutdown;
    auto server = weft::net::PerCoreListener::bind(weft::net::SocketAddress::ip("127.0.0.1", port));
    shutdown.spawn(server.serve(echo, {.shutdown = &shutdown}), "server");
    std::printf("listening on %s\n", server.local_address().to_string().c_str());
    std::fflush(stdout);

    int signal = co_await signals.recv();
    std::size_t open = shutdown.active() - 1;
    weft::ShutdownReport report = co_await shutdown.run(5s);
    std::fprintf(stderr, "echo_server: signal %d: closed %zu connection(s), %zu did not stop in time\n", signal, open,
                 report.stragglers.size());
    co_return report.clean() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    long port = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 9000;
    if (port < 0 || port > 65535) {
        std::fprintf(stderr, "usage: echo_server [PORT]\n");
        return 2;
    }
    return weft::run(serve(static_cast<std::uint16_t>(port)));
}
