// StreamWriter: write() never waits and its bytes go out even without drain(); drain()
// bounds the buffer to the high-water mark plus one write through 64 MB to a slow reader
// (exact bytes, checksum); a cancelled drain loses nothing; failures and misuse raise;
// concurrent write() calls keep each call's bytes together.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/gather.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/pipe.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/net/stream_writer.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/yield.hpp>

#include "support/clock.hpp"
#include "support/io.hpp"

using namespace std::chrono_literals;
using weft::net::StreamReader;
using weft::net::StreamWriter;
using weft::net::UnixStream;

namespace {

std::uint64_t fnv1a(std::uint64_t hash, const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) hash = (hash ^ static_cast<unsigned char>(data[i])) * 1099511628211ull;
    return hash;
}
constexpr std::uint64_t kFnvBasis = 14695981039346656037ull;

struct Received {
    std::size_t bytes = 0;
    std::uint64_t hash = kFnvBasis;
};

// A slow reader: it starts once `start` is set, then makes small reads, yielding to the
// loop after each.
weft::Task<Received> read_slowly(UnixStream stream, std::size_t chunk, weft::Event* start = nullptr) {
    if (start) co_await start->wait();
    std::vector<char> buf(chunk);
    Received got;
    for (;;) {
        std::size_t n = co_await stream.read(buf.data(), buf.size());
        if (n == 0) break;
        got.bytes += n;
        got.hash = fnv1a(got.hash, buf.data(), n);
        co_await weft::yield_now();
    }
    co_return got;
}

}  // namespace

static_assert(weft::net::WritableStream<weft::net::PipeWriter>);
static_assert(weft::net::WritableStream<UnixStream>);

TEST_CASE("io_stream_writer: drain() bounds the buffer through 64 MB to a slow reader", "[io][stream_writer]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        // The reader starts only once the buffer is past the high-water mark, so that drain()
        // must wait at least once whatever the socket's buffer size and the scheduling.
        weft::Event buffer_filled;
        auto reader = weft::spawn(read_slowly(std::move(b), 4096, &buffer_filled));
        StreamWriter writer(std::move(a));
        constexpr std::size_t kHigh = 256 * 1024;
        writer.set_write_buffer_limits(kHigh);
        auto [low, high] = writer.write_buffer_limits();
        CHECK(low == kHigh / 4);
        CHECK(high == kHigh);
        constexpr std::size_t kTotal = 64u << 20;
        const std::string block = test::pattern(3, 1 << 20);
        std::size_t written = 0;
        std::size_t largest_write = 0;
        std::size_t max_buffered = 0;
        std::size_t drains_that_waited = 0;
        std::uint64_t hash = kFnvBasis;
        std::uint32_t step = 1;
        while (written < kTotal) {
            step = step * 1103515245u + 12345u;
            std::size_t size = std::min<std::size_t>(1 + (step >> 8) % (96 * 1024), kTotal - written);
            std::size_t offset = written % (block.size() - size);
            std::string_view piece(block.data() + offset, size);
            writer.write(piece);
            written += size;
            largest_write = std::max(largest_write, size);
            hash = fnv1a(hash, piece.data(), piece.size());
            max_buffered = std::max(max_buffered, writer.buffer_size());
            if (writer.buffer_size() > kHigh) {
                ++drains_that_waited;
                buffer_filled.set();
            }
            co_await writer.drain();
            CHECK(writer.buffer_size() <= kHigh);
        }
        writer.close();
        co_await writer.wait_closed();
        Received got = co_await reader;
        CHECK(got.bytes == kTotal);
        CHECK(got.hash == hash);
        INFO("max buffered " << max_buffered << ", largest write " << largest_write);
        CHECK(max_buffered <= kHigh + largest_write);
        CHECK(max_buffered > kHigh);     // the slow reader did make the buffer fill...
        CHECK(drains_that_waited > 0);  // ...and drain() wait
    }());
}

TEST_CASE("io_stream_writer: written bytes go out without drain(), close() sends the rest then the end",
          "[io][stream_writer]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        StreamWriter writer(std::move(a));
        std::string data = test::pattern(5, 4 << 20);  // far more than the socket buffer
        for (std::size_t i = 0; i < data.size(); i += 100000) writer.write(std::string_view(data).substr(i, 100000));
        CHECK(writer.buffer_size() > 0);  // the kernel could not take it all
        StreamReader reader(std::move(b));
        // Nobody drains: the background sender delivers everything.
        std::string got = co_await reader.read_exactly(data.size());
        CHECK(got == data);
        co_await writer.flush();  // the sender counts a write after the peer may have read it
        CHECK(writer.buffer_size() == 0);
        std::span<const std::byte> bytes = std::as_bytes(std::span(data.data(), 10));
        writer.write(bytes);
        writer.close();
        writer.close();  // idempotent
        CHECK(writer.is_closing());
        std::string tail = co_await reader.read_to_end();
        CHECK(tail == data.substr(0, 10));
        co_await writer.wait_closed();
        bool usage = co_await test::throws<weft::UsageError>([&]() -> weft::Task<void> {
            writer.write("late");
            co_return;
        }());
        CHECK(usage);
    }());
}

TEST_CASE("io_stream_writer: a drain cancelled by a timeout loses nothing", "[io][stream_writer]") {
    weft::run(
        []() -> weft::Task<void> {
            auto [a, b] = UnixStream::pair();
            StreamWriter writer(std::move(a));
            writer.set_write_buffer_limits(1024);
            std::string data = test::pattern(6, 2 << 20);
            writer.write(data);
            bool timed_out = false;
            try {
                co_await weft::wait_for(writer.drain(), 1s);  // nobody reads: it cannot finish
            } catch (const weft::TimeoutError&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(writer.buffer_size() > 1024);
            writer.write(std::string_view("end"));
            writer.close();
            StreamReader reader(std::move(b));
            std::string got = co_await reader.read_to_end();
            CHECK(got.size() == data.size() + 3);
            CHECK(got == data + "end");
            co_await writer.wait_closed();
        }(),
        test::paused_clock());
}

TEST_CASE("io_stream_writer: a failed send is raised by drain(), write() and wait_closed()", "[io][stream_writer]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        StreamWriter writer(std::move(a));
        writer.write(test::pattern(7, 1 << 20));  // more than the socket takes: the rest waits
        b.close();                                // the peer is gone
        bool failed = co_await test::throws<weft::IoError>(writer.flush());
        CHECK(failed);
        CHECK(writer.buffer_size() == 0);  // dropped with the failure
        bool again = co_await test::throws<weft::IoError>([&]() -> weft::Task<void> {
            writer.write("more");
            co_return;
        }());
        CHECK(again);
        writer.close();
        bool closed_failed = co_await test::throws<weft::IoError>(writer.wait_closed());
        CHECK(closed_failed);
    }());
}

TEST_CASE("io_stream_writer: misuse is a UsageError with a message", "[io][stream_writer]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        StreamWriter writer(std::move(a));
        std::string message;
        try {
            writer.set_write_buffer_limits(10, 20);
        } catch (const weft::UsageError& e) {
            message = e.what();
        }
        CHECK(message == "StreamWriter::set_write_buffer_limits: high (10) must be >= low (20)");
        bool early = co_await test::throws<weft::UsageError>(writer.wait_closed());
        CHECK(early);
        writer.set_write_buffer_limits(0);  // drain() then waits for everything
        CHECK(writer.write_buffer_limits() == std::pair<std::size_t, std::size_t>{0, 0});
        co_return;
    }());
}

namespace {
constexpr int kTasks = 8;
constexpr int kRecords = 2000;
constexpr std::size_t kRecord = 600;  // small: the calls interleave often
}  // namespace

TEST_CASE("io_stream_writer: concurrent write() calls keep each call's bytes together", "[io][stream_writer]") {
    weft::run(
        []() -> weft::Task<void> {
            auto [a, b] = UnixStream::pair();
            StreamWriter writer(std::move(a));
            std::vector<weft::JoinHandle<void>> producers;
            for (int t = 0; t < kTasks; ++t) {
                producers.push_back(weft::spawn([](StreamWriter<UnixStream>& w, int t) -> weft::Task<void> {
                    for (int i = 0; i < kRecords; ++i) {
                        std::string record(kRecord, static_cast<char>('a' + t));
                        std::memcpy(record.data(), &i, sizeof i);
                        w.write(record);
                        if (i % 16 == 0) co_await w.drain();
                    }
                }(writer, t)));
            }
            StreamReader reader(std::move(b));
            std::vector<int> next(kTasks, 0);
            int bad = 0;
            for (int n = 0; n < kTasks * kRecords; ++n) {
                std::string record = co_await reader.read_exactly(kRecord);
                int t = record.back() - 'a';
                int i;
                std::memcpy(&i, record.data(), sizeof i);
                if (t < 0 || t >= kTasks || i != next[t] ||
                    record.find_first_not_of(record.back(), sizeof i) != std::string::npos) {
                    ++bad;
                    continue;
                }
                ++next[t];
            }
            for (auto& p : producers) co_await p;
            CHECK(bad == 0);
            CHECK(next == std::vector<int>(kTasks, kRecords));
            writer.close();
            co_await writer.wait_closed();
        }(),
        {.workers = 4});
}
