// End of stream is never lost: the peer's last bytes and its FIN (shutdown(SHUT_WR)) reach
// read(), read_exact(), read_until() and StreamReader::read_line() in every order:
// before the first read, while the read waits, and after a short read. The hard case is
// one epoll event carrying both the data and the FIN: the short read that takes the data
// must not clear the "peer closed" readiness, or the next read waits forever.
//
// Deterministic: one worker and the virtual clock. The peer writes with plain syscalls from
// the test's own task, and the test waits (on the kernel's socket state) until the data and
// the FIN have arrived before it lets the reader run, so the reactor sees them in one event.
// "The reader is suspended" is known without sleeping: on one worker the test task runs
// again only once the reader has reached its first suspension. A reader that would wait
// forever is cut off by a 60 s virtual deadline, which passes at once when nothing else can
// happen, and the transcript then says "<hang>".
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/yield.hpp>

#include "support/clock.hpp"
#include "support/io.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;
using weft::net::Stream;

namespace {

enum class Op { read, read_exact, read_until, read_line };
enum class Order { before_first_read, while_waiting, after_short_read };
enum class Kind { tcp, unix_socket };

constexpr std::string_view kFirst = "abc\n";
constexpr std::string_view kSecond = "xyz";  // the last bytes, without a newline

const char* name(Op op) {
    switch (op) {
        case Op::read:
            return "read";
        case Op::read_exact:
            return "read_exact";
        case Op::read_until:
            return "read_until";
        case Op::read_line:
            return "StreamReader::read_line";
    }
    return "?";
}

const char* name(Order order) {
    switch (order) {
        case Order::before_first_read:
            return "data and FIN before the first read";
        case Order::while_waiting:
            return "data and FIN while the read waits";
        case Order::after_short_read:
            return "data and FIN after a short read";
    }
    return "?";
}

// What the reader saw, through end of stream.
std::string expected(Op op) {
    switch (op) {
        case Op::read:
            return "abc\nxyz<eof>";
        case Op::read_exact:
            return "<unexpected eof>";
        case Op::read_until:
            return "abc\n|xyz|<eof>";
        case Op::read_line:
            return "abc|xyz|<eof>";
    }
    return "?";
}

weft::Task<std::string> transcript(Stream* stream, Op op, std::atomic<bool>* started) {
    started->store(true);
    std::string out;
    if (op == Op::read) {
        char buf[64];
        for (;;) {
            std::size_t n = co_await stream->read(buf, sizeof buf);
            if (n == 0) break;
            out.append(buf, n);
        }
    } else if (op == Op::read_exact) {
        char buf[64];
        bool eof =
            co_await test::throws<weft::UnexpectedEof>(stream->read_exact(buf, kFirst.size() + kSecond.size() + 1));
        co_return eof ? "<unexpected eof>" : "<no UnexpectedEof>";
    } else if (op == Op::read_until) {
        for (;;) {
            std::string piece;
            std::size_t n = co_await stream->read_until(piece, '\n');
            if (n == 0) break;
            out += piece + "|";
        }
    } else {
        weft::net::StreamReader<Stream&> reader(*stream);
        for (;;) {
            std::optional<std::string> line = co_await reader.read_line();
            if (!line) break;
            out += *line + "|";
        }
    }
    co_return out + "<eof>";
}

weft::Task<std::string> guarded(weft::JoinHandle<std::string> reader) {
    try {
        std::string seen = co_await weft::wait_for(std::move(reader), 60s);
        co_return seen;
    } catch (const weft::TimeoutError&) {
        co_return "<hang>";
    }
}

// Blocks the (only) worker until the kernel has what the peer sent: no task can run, so
// the reactor sees it afterwards as it is now. Loopback TCP may deliver in a softirq a
// moment after send() returns; Unix sockets deliver within send().
void until_arrived(int fd, Kind kind, std::size_t bytes, bool fin) {
    for (;;) {
        int queued = 0;
        ::ioctl(fd, FIONREAD, &queued);
        bool closed = true;
        if (fin && kind == Kind::tcp) {
            tcp_info info{};
            socklen_t size = sizeof info;
            ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size);
            closed = info.tcpi_state == TCP_CLOSE_WAIT;
        }
        if (static_cast<std::size_t>(queued) == bytes && closed) return;
        std::this_thread::yield();
    }
}

void send_raw(int fd, std::string_view bytes) {
    ssize_t sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    CHECK(sent == static_cast<ssize_t>(bytes.size()));
}

// One case: `client` is the peer, `server` the reading side. Returns the reader's transcript.
weft::Task<std::string> half_close_case(Stream* client, Stream* server, Kind kind, Op op, Order order) {
    int peer = client->native_handle();
    int fd = server->native_handle();
    std::atomic<bool> started{false};
    std::string all = std::string(kFirst) + std::string(kSecond);
    weft::JoinHandle<std::string> reader;
    if (order == Order::before_first_read) {
        send_raw(peer, all);
        ::shutdown(peer, SHUT_WR);
        until_arrived(fd, kind, all.size(), true);
        reader = weft::spawn(transcript(server, op, &started));
    } else {
        reader = weft::spawn(transcript(server, op, &started));
        while (!started.load()) co_await weft::yield_now();  // one worker: the reader is suspended now
        if (order == Order::after_short_read) {
            send_raw(peer, kFirst);
            until_arrived(fd, kind, kFirst.size(), false);
            // The reader takes the first bytes with a short read, then waits again.
            int queued = 1;
            while (queued != 0) {
                co_await weft::yield_now();
                ::ioctl(fd, FIONREAD, &queued);
            }
            send_raw(peer, kSecond);
            ::shutdown(peer, SHUT_WR);
            until_arrived(fd, kind, kSecond.size(), true);
        } else {
            send_raw(peer, all);
            ::shutdown(peer, SHUT_WR);
            until_arrived(fd, kind, all.size(), true);
        }
    }
    std::string seen = co_await guarded(std::move(reader));
    co_return seen;
}

weft::Task<void> all_cases(Kind kind, int iterations) {
    auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress::loopback_v4(0));
    std::set<std::pair<Op, Order>> failed;  // one report per failing combination
    for (int i = 0; i < iterations; ++i) {
        for (Op op : {Op::read, Op::read_exact, Op::read_until, Op::read_line}) {
            for (Order order : {Order::before_first_read, Order::while_waiting, Order::after_short_read}) {
                std::string seen;
                if (kind == Kind::tcp) {
                    auto client = co_await weft::net::TcpStream::connect(listener.local_address());
                    auto server = co_await listener.accept();
                    seen = co_await half_close_case(&client, &server, kind, op, order);
                } else {
                    auto [client, server] = weft::net::UnixStream::pair();
                    seen = co_await half_close_case(&client, &server, kind, op, order);
                }
                if (seen != expected(op) && failed.emplace(op, order).second) {
                    INFO(name(op) << ", " << name(order) << ", iteration " << i);
                    CHECK(seen == expected(op));
                }
            }
        }
    }
}

}  // namespace

TEST_CASE("io_half_close: a peer's last bytes and FIN reach every read in every order (TCP)", "[io][tcp][half_close]") {
    weft::run(all_cases(Kind::tcp, test::scaled(50, 10)), test::paused_clock());
}

TEST_CASE("io_half_close: a peer's last bytes and FIN reach every read in every order (Unix socket)",
          "[io][unix][half_close]") {
    weft::run(all_cases(Kind::unix_socket, test::scaled(50, 10)), test::paused_clock());
}
