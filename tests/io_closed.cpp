// Reading or writing a stream this side already closed (or moved from) is a UsageError
// saying "stream is closed", never an IoError(EBADF): by then the descriptor number may
// belong to another file, so weft must not pass it to the kernel.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <string>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/net/pipe.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/net/udp_socket.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>

namespace {

// "usage": UsageError naming a closed stream; otherwise what was thrown (or "none").
template <class Awaitable>
weft::Task<std::string> outcome(Awaitable awaitable) {
    try {
        co_await std::move(awaitable);
    } catch (const weft::UsageError& e) {
        co_return std::string(e.what()).find("stream is closed") != std::string::npos ? "usage" : e.what();
    } catch (const weft::IoError& e) {
        co_return std::string("IoError: ") + e.what();
    }
    co_return "none";
}

template <class F>
std::string sync_outcome(F f) {
    try {
        f();
    } catch (const weft::UsageError& e) {
        return std::string(e.what()).find("stream is closed") != std::string::npos ? "usage" : e.what();
    } catch (const weft::IoError& e) {
        return std::string("IoError: ") + e.what();
    }
    return "none";
}

// Every operation on `stream`, which this side has closed (or moved from).
weft::Task<void> check_closed(weft::net::Stream& stream) {
    REQUIRE(!stream.is_open());
    char buf[8] = {};
    std::string line;
    auto r1 = co_await outcome(stream.read(buf, sizeof buf));
    CHECK(r1 == "usage");
    auto r2 = co_await outcome(stream.read_exact(buf, sizeof buf));
    CHECK(r2 == "usage");
    auto r3 = co_await outcome(stream.read_until(line, '\n'));
    CHECK(r3 == "usage");
    auto r4 = co_await outcome(stream.write("x", 1));
    CHECK(r4 == "usage");
    auto r5 = co_await outcome(stream.write_all("closed"));
    CHECK(r5 == "usage");
    weft::net::StreamReader<weft::net::Stream&> reader(stream);
    auto r6 = co_await outcome(reader.read_line());
    CHECK(r6 == "usage");
    CHECK(sync_outcome([&] { stream.shutdown(); }) == "usage");
}

}  // namespace

TEST_CASE("io_closed: reading or writing a closed stream is UsageError \"stream is closed\"", "[io][closed]") {
    weft::run([]() -> weft::Task<void> {
        {
            auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress::loopback_v4(0));
            auto client = co_await weft::net::TcpStream::connect(listener.local_address());
            auto server = co_await listener.accept();
            // A wait first, so that the stream is registered with the reactor when it closes.
            co_await client.write_all("x");
            char one;
            co_await server.read_exact(&one, 1);
            server.close();
            co_await check_closed(server);
            client.close();
            co_await check_closed(client);
            // The descriptor number is reused at once: the closed stream must not touch it.
            int reused = ::dup(0);
            co_await check_closed(client);
            ::close(reused);
        }
        {
            auto [a, b] = weft::net::UnixStream::pair();
            weft::net::UnixStream moved = std::move(a);
            co_await check_closed(a);  // moved from
            moved.close();
            co_await check_closed(moved);
        }
        {
            weft::net::Pipe pipe = weft::net::pipe();
            pipe.reader.close();
            pipe.writer.close();
            char buf[4];
            auto r1 = co_await outcome(pipe.reader.read(buf, sizeof buf));
            CHECK(r1 == "usage");
            auto r2 = co_await outcome(pipe.writer.write_all("x", 1));
            CHECK(r2 == "usage");
        }
        {
            auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress::loopback_v4(0));
            listener.close();
            auto r1 = co_await outcome(listener.accept());
            CHECK(r1 == "usage");
        }
    }());
}
