// Unix-domain stream sockets (path, abstract name, socketpair) and pipes: round trips
// checked byte for byte, end of stream, and BrokenPipe when the reader is gone.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/pipe.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include "support/counted.hpp"
#include "support/io.hpp"

using weft::net::UnixListener;
using weft::net::UnixStream;

namespace {

// Sends `data` and reads the peer's echo of it concurrently; returns what came back.
weft::Task<std::string> send_and_collect(weft::net::Stream* stream, std::string data) {
    std::string back(data.size(), '\0');
    auto reader = weft::spawn([](weft::net::Stream* s, std::string* into) -> weft::Task<void> {
        co_await s->read_exact(into->data(), into->size());
    }(stream, &back));
    co_await stream->write_all(data);
    co_await reader;
    co_return back;
}

weft::Task<std::size_t> echo(UnixStream stream) {
    char buf[8192];
    std::size_t total = 0;
    while (std::size_t n = co_await stream.read(buf, sizeof buf)) {
        co_await stream.write_all(buf, n);
        total += n;
    }
    stream.close();
    co_return total;
}

weft::Task<void> round_trip(std::string path) {
    auto listener = UnixListener::bind(path);
    auto client = co_await UnixStream::connect(path);
    auto server = weft::spawn(echo(co_await listener.accept()));
    std::string data = test::pattern(11, 1 << 20);
    auto got1 = co_await send_and_collect(&client, data);
    CHECK(got1 == data);
    client.shutdown();
    auto got2 = co_await server;
    CHECK(got2 == data.size());
}

}  // namespace

TEST_CASE("io_unix: a 1 MB echo over a Unix socket at a path", "[io][unix]") {
    char dir[] = "/tmp/weft-io-unix-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    std::string path = std::string(dir) + "/echo.sock";
    auto workers = GENERATE(1u, 2u);
    weft::run(round_trip(path), {.workers = workers});
    ::unlink(path.c_str());
    ::rmdir(dir);
}

TEST_CASE("io_unix: an abstract-namespace socket", "[io][unix]") {
    weft::run(round_trip("@weft-io-unix-" + std::to_string(::getpid())));
}

TEST_CASE("io_unix: connects beyond a full backlog wait for room, as a blocking connect does, not EAGAIN",
          "[io][unix]") {
    const std::string path = "@weft-io-unix-backlog-" + std::to_string(::getpid());
    const int connected = weft::run(
        [](std::string path) -> weft::Task<int> {
            auto listener = UnixListener::bind(path, /*backlog=*/1);
            constexpr int kClients = 6;
            std::vector<weft::JoinHandle<int>> clients;
            for (int i = 0; i < kClients; ++i) {
                clients.push_back(weft::spawn([](std::string path) -> weft::Task<int> {
                    try {
                        auto stream = co_await UnixStream::connect(path);
                        co_await stream.write_all("x", 1);
                        co_return 1;
                    } catch (const weft::IoError&) {  // EAGAIN: the backlog was full
                        co_return 0;
                    }
                }(path)));
            }
            // Nobody accepts until every client has tried (the later ones found no room).
            for (int round = 0; round < 20; ++round) co_await weft::yield_now();
            auto acceptor = weft::spawn([](UnixListener& listener) -> weft::Task<void> {
                for (;;) {
                    auto server_side = co_await listener.accept();
                    char byte = 0;
                    co_await server_side.read_exact(&byte, 1);
                }
            }(listener));
            int ok = 0;
            for (auto& c : clients) ok += co_await c;
            acceptor.cancel();
            try {
                co_await acceptor;
            } catch (const weft::CancelledError&) {
            }
            co_return ok;
        }(path),
        {.workers = 2});
    CHECK(connected == 6);
}

TEST_CASE("io_unix: UnixStream::pair and bind errors", "[io][unix]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        co_await a.write_all("over the pair");
        char buf[13];
        co_await b.read_exact(buf, sizeof buf);
        CHECK(std::string(buf, sizeof buf) == "over the pair");
        a.close();
        auto got3 = co_await b.read(buf, sizeof buf);
        CHECK(got3 == 0);
        CHECK_THROWS_AS(UnixListener::bind("/nonexistent-dir/x.sock"), weft::IoError);
        bool threw4 = co_await test::throws<weft::IoError>(UnixStream::connect("/nonexistent-dir/x.sock"));
        CHECK(threw4);
    }());
}

TEST_CASE("io_unix: pipes carry 1 MB exactly then end of stream, and a closed reader is BrokenPipe", "[io][pipe]") {
    auto workers = GENERATE(1u, 2u);
    weft::run(
        []() -> weft::Task<void> {
            auto [reader, writer] = weft::net::pipe();
            std::string data = test::pattern(21, 1 << 20);
            auto producer = weft::spawn([](weft::net::PipeWriter w, const std::string* d) -> weft::Task<void> {
                co_await w.write_all(d->data(), d->size());
                w.close();  // end of stream for the reader
            }(std::move(writer), &data));
            std::string got;
            char buf[7000];  // not a divisor of the pipe's capacity
            while (std::size_t n = co_await reader.read(buf, sizeof buf)) got.append(buf, n);
            co_await producer;
            CHECK(got == data);

            auto [r2, w2] = weft::net::pipe();
            r2.close();
            try {
                co_await w2.write_all("nobody reads", 12);
                FAIL("wrote to a pipe without a reader");
            } catch (const weft::BrokenPipe& e) {
                CHECK(e.code() == EPIPE);
            }
        }(),
        {.workers = workers});
}

namespace {

weft::Task<void> read_forever(UnixStream stream, [[maybe_unused]] test::Counted owned, std::atomic<bool>* waiting) {
    char byte;
    waiting->store(true);
    co_await stream.read(&byte, 1);  // the peer never writes
}

}  // namespace

TEST_CASE("io_unix: runtime shutdown destroys tasks still waiting on a socket", "[io][unix]") {
    test::LifeCounter frames;
    auto workers = GENERATE(1u, 2u);
    {
        weft::Runtime runtime({.workers = workers});
        auto [a, b] = UnixStream::pair();
        std::atomic<bool> waiting{false};
        runtime.spawn(read_forever(std::move(b), test::Counted(frames), &waiting)).detach();
        while (!waiting.load()) std::this_thread::yield();  // polls a flag the task sets just before it waits
        runtime.shutdown();  // the reader is suspended in read(): its frame must go too
    }
    CHECK(frames.live() == 0);
    CHECK(frames.constructed() > 0);
}

TEST_CASE("io_unix: unlink_existing replaces a stale socket but never another kind of file", "[io][unix]") {
    char dir[] = "/tmp/weft-io-unix-XXXXXX";
    REQUIRE(::mkdtemp(dir) != nullptr);
    std::string path = std::string(dir) + "/app.sock";
    {
        UnixListener stale = UnixListener::bind(path);  // left behind: the listener does not unlink
    }
    CHECK_NOTHROW(UnixListener::bind(path, 16, /*unlink_existing=*/true));  // a socket: replaced
    ::unlink(path.c_str());
    // A regular file (a mistyped path) is kept, and the bind fails as asyncio's does.
    {
        FILE* f = std::fopen(path.c_str(), "w");
        REQUIRE(f != nullptr);
        std::fputs("important data", f);
        std::fclose(f);
    }
    try {
        (void)UnixListener::bind(path, 16, true);
        FAIL("bind over a regular file succeeded");
    } catch (const weft::IoError& e) {
        CHECK(e.code() == EADDRINUSE);
    }
    struct stat info{};
    REQUIRE(::lstat(path.c_str(), &info) == 0);
    CHECK(S_ISREG(info.st_mode));
    CHECK(info.st_size == 14);
    ::unlink(path.c_str());
    // Malformed paths are usage errors, not a truncated bind.
    CHECK_THROWS_AS(UnixListener::bind(""), weft::UsageError);
    CHECK_THROWS_AS(UnixListener::bind(std::string(dir) + std::string("/nul\0tail", 9)), weft::UsageError);
    ::rmdir(dir);
}
