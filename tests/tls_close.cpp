// A graceful close of a tls::Stream never loses bytes that were reported written, although
// the closing side has unread bytes in its receive buffer: a TLS 1.3 client always does (the
// server's NewSessionTickets, which it never reads if it only writes), a server may (a request
// it did not read). Closing a socket with unread bytes makes the kernel send RST and drop
// whatever is still in the send queue, so the peer used to get a truncated stream without
// close_notify while write_all(), shutdown(), close() and StreamWriter::wait_closed() all
// reported success (review-net finding 1).
//
// Each test makes the send queue full at close, deterministically: the reader's receive
// buffer is small, it stops reading kHeld bytes before the end and goes on only once the
// writer has called close() (an Event), so the last kHeld bytes are still in the kernel when
// close() runs. The reader then expects every byte and the writer's close_notify.
// Certificates are made at test time (support/test_certs.hpp); skipped without openssl.
#include <catch2/catch.hpp>

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/stream_writer.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>

#include "support/clock.hpp"
#include "support/io.hpp"
#include "support/test_certs.hpp"
#include "support/tls_pair.hpp"

using namespace std::chrono_literals;
using weft::net::SocketAddress;
using weft::net::TcpListener;
using weft::net::TcpStream;
namespace tls = weft::tls;

namespace {

#define REQUIRE_OPENSSL()                                                      \
    if (!test::have_program("openssl")) {                                      \
        WARN("the openssl command is missing: TLS test skipped (tools/deps)"); \
        return;                                                                \
    }

constexpr std::size_t kTotal = 8 * 1024 * 1024;  // what the writer sends
constexpr std::size_t kHeld = 512 * 1024;        // left in the kernel when the writer closes
constexpr int kWriterSendBuffer = 1024 * 1024;   // the kernel doubles it: kHeld always fits
constexpr int kReaderReceiveBuffer = 64 * 1024;  // most of kHeld waits in the writer's send queue

enum class Writer { client, server };
enum class Ending {
    close,           // write_all, close()
    shutdown_close,  // write_all, shutdown(), close()
    destroy,         // write_all, the destructor
    stream_writer,   // StreamWriter: write, flush(), close(), wait_closed()
};

void set_buffer(TcpStream& tcp, int option, int size) {
    REQUIRE(::setsockopt(tcp.native_handle(), SOL_SOCKET, option, &size, sizeof size) == 0);
}

struct ReaderResult {
    std::size_t bytes = 0;
    bool close_notify = false;  // read() returned 0: the writer's close_notify arrived
    std::string error;          // what ended the stream otherwise
};

// Reads everything, pausing kHeld bytes before the end until `writer_closed` is set.
weft::Task<ReaderResult> read_everything(tls::Stream* stream, weft::Event* writer_closed) {
    ReaderResult result;
    std::string buf(64 * 1024, '\0');
    const std::string expected = test::pattern(5, kTotal);
    bool intact = true;
    try {
        for (;;) {
            std::size_t want = buf.size();
            if (result.bytes < kTotal - kHeld) {
                want = std::min(want, kTotal - kHeld - result.bytes);
            } else if (!writer_closed->is_set()) {
                co_await writer_closed->wait();
            }
            std::size_t n = co_await stream->read(buf.data(), want);
            if (n == 0) {
                result.close_notify = true;
                break;
            }
            if (result.bytes + n > kTotal ||
                std::string_view(buf.data(), n) != std::string_view(expected).substr(result.bytes, n)) {
                intact = false;
            }
            result.bytes += n;
        }
    } catch (const weft::Error& e) {
        result.error = e.what();
    }
    if (!intact) result.error += " (bytes differ from what was sent)";
    co_return result;
}

// The writer's side: sends kTotal bytes and closes as `ending` says, then sets
// `writer_closed` and awaits the close's end.
weft::Task<void> write_and_close(tls::Stream stream, Ending ending, weft::Event* writer_closed) {
    const std::string data = test::pattern(5, kTotal);
    if (ending == Ending::stream_writer) {
        weft::net::StreamWriter writer(std::move(stream));
        writer.write(data);
        co_await writer.flush();  // every byte is in the kernel: the reader holds kHeld back
        writer.close();
        writer_closed->set();
        co_await writer.wait_closed();  // the close's outcome: every byte delivered
        co_return;
    }
    co_await stream.write_all(data);
    if (ending == Ending::shutdown_close) co_await stream.shutdown();
    if (ending == Ending::destroy) {
        std::optional<tls::Stream> owner(std::move(stream));
        owner.reset();
        writer_closed->set();
        co_return;
    }
    stream.close();
    writer_closed->set();
    co_await stream.wait_closed();
}

// One connection: the writer sends kTotal bytes and closes, never reading what the other side
// sent it (tickets from a server; a client's unread "request"); the reader counts.
weft::Task<ReaderResult> deliver(Writer who, Ending ending) {
    test::TcpPair tcp = co_await test::tcp_pair();
    set_buffer(who == Writer::client ? tcp.client : tcp.server, SO_SNDBUF, kWriterSendBuffer);
    set_buffer(who == Writer::client ? tcp.server : tcp.client, SO_RCVBUF, kReaderReceiveBuffer);
    const auto& certs = test::shared_test_certs();
    // (Contexts in locals: g++ 12 frees a braced temporary inside a co_await expression twice.)
    tls::Context server_ctx = tls::Context::server(certs.cert_file, certs.key_file);
    tls::Context client_ctx = tls::Context::client({.ca_file = certs.ca_file});
    test::TlsPair pair = co_await test::tls_handshake(std::move(tcp), server_ctx, client_ctx);
    tls::Stream& client = pair.client;
    tls::Stream& server = pair.server;
    CHECK(client.protocol_version() == "TLSv1.3");  // a TLS 1.3 server sends tickets at once

    // A request the server never reads: unread bytes on the server's side.
    if (who == Writer::server) co_await client.write_all(std::string_view("a request the server never reads\n"));

    tls::Stream& reader = who == Writer::client ? server : client;
    tls::Stream writer = std::move(who == Writer::client ? client : server);
    weft::Event writer_closed;
    auto writing = weft::spawn(write_and_close(std::move(writer), ending, &writer_closed));
    ReaderResult result = co_await read_everything(&reader, &writer_closed);
    co_await writing;  // wait_closed() or the writes threw: the test fails with it
    co_return result;
}

void check_delivered(Writer who, Ending ending) {
    ReaderResult result = weft::run(deliver(who, ending));
    INFO("reader's error: " << result.error);
    CHECK(result.bytes == kTotal);
    CHECK(result.close_notify);
    CHECK(result.error.empty());
}

}  // namespace

TEST_CASE("tls_close: a TLS 1.3 client that writes and close()s without reading delivers every byte", "[tls]") {
    REQUIRE_OPENSSL();
    check_delivered(Writer::client, Ending::close);
}

TEST_CASE("tls_close: a client's write_all, shutdown() and close() deliver every byte, tickets unread", "[tls]") {
    REQUIRE_OPENSSL();
    check_delivered(Writer::client, Ending::shutdown_close);
}

TEST_CASE("tls_close: a client Stream destroyed after write_all delivers every byte, tickets unread", "[tls]") {
    REQUIRE_OPENSSL();
    check_delivered(Writer::client, Ending::destroy);
}

TEST_CASE("tls_close: StreamWriter over a TLS 1.3 client: wait_closed() returns once every byte arrived", "[tls]") {
    REQUIRE_OPENSSL();
    check_delivered(Writer::client, Ending::stream_writer);
}

TEST_CASE("tls_close: a server that writes and close()s with a request unread delivers every byte", "[tls]") {
    REQUIRE_OPENSSL();
    check_delivered(Writer::server, Ending::close);
}

TEST_CASE("tls_close: StreamWriter over a TLS server with a request unread delivers every byte", "[tls]") {
    REQUIRE_OPENSSL();
    check_delivered(Writer::server, Ending::stream_writer);
}

namespace {

// The writer's bytes wait in the kernel, the reader takes nothing: wait_closed() ends at the
// writer's shutdown_timeout with TimedOut (it cannot promise those bytes arrive).
weft::Task<bool> close_times_out_against_a_peer_that_never_reads() {
    test::TcpPair tcp = co_await test::tcp_pair();
    set_buffer(tcp.client, SO_SNDBUF, kWriterSendBuffer);
    set_buffer(tcp.server, SO_RCVBUF, kReaderReceiveBuffer);
    const auto& certs = test::shared_test_certs();
    tls::Context client_ctx = tls::Context::client({.ca_file = certs.ca_file, .shutdown_timeout = 100ms});
    tls::Context server_ctx = tls::Context::server(certs.cert_file, certs.key_file);
    test::TlsPair pair = co_await test::tls_handshake(std::move(tcp), server_ctx, client_ctx);
    tls::Stream& client = pair.client;
    co_await client.write_all(test::pattern(5, kHeld));  // fits in the buffers, stays there
    client.close();
    CHECK_FALSE(client.is_open());
    bool timed_out = co_await test::throws<weft::TimedOut>(client.wait_closed());
    co_return timed_out;
}

// The writer's kernel send queue is full (raw bytes pushed under the TLS stream: the peer
// never reads, so they stay there) when close() must send close_notify: that send can never
// finish. wait_closed() must still end, with TimedOut, at shutdown_timeout; before, it waited
// for ever. On the paused clock, where the 1 h guard would fire first in that case.
weft::Task<bool> close_notify_that_cannot_go_out_times_out() {
    test::TcpPair tcp = co_await test::tcp_pair();
    set_buffer(tcp.client, SO_SNDBUF, 4096);
    set_buffer(tcp.server, SO_RCVBUF, 4096);
    const auto& certs = test::shared_test_certs();
    tls::Context client_ctx = tls::Context::client({.ca_file = certs.ca_file, .shutdown_timeout = 100ms});
    tls::Context server_ctx = tls::Context::server(certs.cert_file, certs.key_file);
    test::TlsPair pair = co_await test::tls_handshake(std::move(tcp), server_ctx, client_ctx);
    tls::Stream& client = pair.client;
    const std::string junk(4096, 'j');
    while (::send(client.tcp().native_handle(), junk.data(), junk.size(), MSG_DONTWAIT | MSG_NOSIGNAL) > 0) {
    }
    client.close();
    auto guard = weft::timeout(1h);
    bool timed_out = co_await test::throws<weft::TimedOut>(client.wait_closed());
    co_return timed_out;
}

weft::Task<void> wait_closed_misuse() {
    tls::Stream never_opened;
    bool unopened = co_await test::throws<weft::UsageError>(never_opened.wait_closed());
    CHECK(unopened);

    const auto& certs = test::shared_test_certs();
    tls::Context server_ctx = tls::Context::server(certs.cert_file, certs.key_file);
    tls::Context client_ctx = tls::Context::client({.ca_file = certs.ca_file});
    test::TlsPair pair = co_await test::tls_pair(server_ctx, client_ctx);
    tls::Stream& client = pair.client;
    tls::Stream& server = pair.server;
    bool before_close = co_await test::throws<weft::UsageError>(client.wait_closed());
    CHECK(before_close);

    // Both sides close at once, neither reading: each one's close_notify and FIN are
    // acknowledged by the other's TCP, so both closes end well, and a second close() and
    // wait_closed() change nothing.
    client.close();
    server.close();
    client.close();
    co_await client.wait_closed();
    co_await client.wait_closed();
    co_await server.wait_closed();
    bool read_after_close = co_await test::throws<weft::UsageError>(client.read(nullptr, 1));
    CHECK(read_after_close);
}

}  // namespace

TEST_CASE("tls_close: wait_closed() is TimedOut when the peer takes nothing within shutdown_timeout", "[tls]") {
    REQUIRE_OPENSSL();
    bool timed_out = weft::run(close_times_out_against_a_peer_that_never_reads());
    CHECK(timed_out);
}

TEST_CASE("tls_close: a close_notify that cannot be sent (the peer reads nothing) ends at shutdown_timeout", "[tls]") {
    REQUIRE_OPENSSL();
    bool timed_out = weft::run(close_notify_that_cannot_go_out_times_out(), test::paused_clock());
    CHECK(timed_out);
}

TEST_CASE("tls_close: wait_closed() before close() or on an empty Stream is UsageError, a second close() is a no-op",
          "[tls]") {
    REQUIRE_OPENSSL();
    weft::run(wait_closed_misuse());
    CHECK_THROWS_AS(tls::Context::client({.shutdown_timeout = 0ms}), weft::UsageError);
    const auto& certs = test::shared_test_certs();
    CHECK_THROWS_AS(tls::Context::server(certs.cert_file, certs.key_file, {.shutdown_timeout = -1ms}),
                    weft::UsageError);
}
