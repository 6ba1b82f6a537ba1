// weft::Shutdown: SIGTERM delivered to this process triggers a graceful shutdown of a
// per-core echo server: acceptors stop, every connection handler is cancelled and runs its
// cleanup, nothing straggles. And a task that refuses to stop is reported as a straggler.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include <weft/io_error.hpp>
#include <weft/net/serve.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/run.hpp>
#include <weft/shutdown.hpp>
#include <weft/signal.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include "support/clock.hpp"
#include "support/io.hpp"

using namespace std::chrono_literals;
using weft::net::SocketAddress;
using weft::net::TcpStream;

namespace {

std::atomic<int> g_cleanups{0};

struct CountsCleanup {
    ~CountsCleanup() { g_cleanups.fetch_add(1); }
};

weft::Task<void> echo_forever(TcpStream stream) {
    CountsCleanup cleanup;  // runs when CancelledError unwinds this frame
    char buf[1024];
    while (std::size_t n = co_await stream.read(buf, sizeof buf)) co_await stream.write_all(buf, n);
}

weft::Task<void> graceful_on_sigterm(int connections) {
    weft::SignalListener signals({SIGTERM, SIGINT});  // before anything could send one
    weft::Shutdown shutdown;
    auto server = weft::net::PerCoreListener::bind(SocketAddress::loopback_v4(0));
    shutdown.spawn(server.serve(echo_forever, {.shutdown = &shutdown}), "server");

    // Every connection proves its handler is running by echoing once.
    std::vector<TcpStream> clients;
    for (int i = 0; i < connections; ++i) {
        clients.push_back(co_await TcpStream::connect(server.local_address()));
        co_await clients.back().write_all("hi");
        char back[2];
        co_await clients.back().read_exact(back, 2);
    }
    CHECK(shutdown.active() == static_cast<std::size_t>(connections) + 1);

    ::kill(::getpid(), SIGTERM);
    auto got1 = co_await signals.recv();
    CHECK(got1 == SIGTERM);
    weft::ShutdownReport report = co_await shutdown.run(30s);

    CHECK(report.clean());
    CHECK(report.cancelled == static_cast<std::size_t>(connections) + 1);
    CHECK(report.finished == report.cancelled);
    CHECK(g_cleanups.load() == connections);
    CHECK(shutdown.requested());
    CHECK(shutdown.active() == 0);
    // Handlers closed their streams: each client sees end of stream.
    int closed = 0;
    for (auto& client : clients) {
        char byte;
        if (co_await client.read(&byte, 1) == 0) ++closed;
    }
    CHECK(closed == connections);
    // Stopped accepting: the listeners are closed, so a new connect is refused.
    bool threw2 = co_await test::throws<weft::ConnectionRefused>(TcpStream::connect(server.local_address()));
    CHECK(threw2);
}

std::atomic<bool> g_release{false};
std::atomic<bool> g_stubborn_done{false};

// Swallows every cancellation until released: the straggler.
weft::Task<void> refuses_to_stop() {
    while (!g_release.load()) {
        try {
            co_await weft::sleep(1h);
        } catch (const weft::CancelledError&) {  // (a TimeoutError too)
        }
    }
    g_stubborn_done = true;
}

weft::Task<void> sleeps() { co_await weft::sleep(1h); }

}  // namespace

TEST_CASE("io_shutdown: SIGTERM triggers a graceful shutdown and every handler runs its cleanup", "[io][shutdown]") {
    g_cleanups = 0;
    auto workers = GENERATE(1u, 3u);
    weft::run(graceful_on_sigterm(20), {.workers = workers});
}

TEST_CASE("io_shutdown: a task that ignores cancellation is reported as a straggler", "[io][shutdown]") {
    weft::run(
        []() -> weft::Task<void> {
            weft::Shutdown shutdown;
            shutdown.spawn(refuses_to_stop(), "stubborn");
            shutdown.spawn(sleeps(), "sleeper");
            co_await weft::yield_now();  // one worker: both start and block before this resumes
            weft::ShutdownReport report = co_await shutdown.run(100ms);  // virtual time
            CHECK(report.cancelled == 2);
            CHECK(report.finished == 1);
            REQUIRE(report.stragglers.size() == 1);
            CHECK(report.stragglers[0].name == "stubborn");
            CHECK_FALSE(report.clean());
            // A task spawned after shutdown began never starts.
            bool started = false;
            shutdown.spawn([](bool* flag) -> weft::Task<void> {
                *flag = true;
                co_return;
            }(&started));
            g_release = true;
            while (!g_stubborn_done.load()) co_await weft::sleep(1h);
            CHECK_FALSE(started);
        }(),
        test::paused_clock());
}
