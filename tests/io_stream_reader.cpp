// StreamReader: owns (and moves with) its stream; read_until with a multi-byte separator at
// every split point; the limit and the end-of-stream errors; read_exactly / read_exact;
// read_to_end; the read_line convention; cancellation loses nothing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/pipe.hpp>
#include <weft/net/stream_errors.hpp>
#include <weft/net/stream_reader.hpp>
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
using weft::net::UnixStream;

namespace {

// A stream whose reads return the given chunks, one per read (cut to the size asked for),
// then end of stream: the split points are exactly the test's.
class ScriptedStream {
public:
    explicit ScriptedStream(std::vector<std::string> chunks) : chunks_(std::move(chunks)) {}
    weft::Task<std::size_t> read(void* data, std::size_t size) {
        ++reads;
        if (next_ == chunks_.size()) co_return 0;
        std::string& chunk = chunks_[next_];
        std::size_t n = std::min(size, chunk.size());
        std::memcpy(data, chunk.data(), n);
        chunk.erase(0, n);
        if (chunk.empty()) ++next_;
        co_return n;
    }
    int reads = 0;

private:
    std::vector<std::string> chunks_;
    std::size_t next_ = 0;
};

static_assert(weft::net::ReadableStream<ScriptedStream>);
static_assert(weft::net::ReadableStream<weft::net::PipeReader>);
static_assert(weft::net::ReadableStream<UnixStream&>);

// What users write: a connection struct holding the reader, which holds the stream.
struct Connection {
    explicit Connection(UnixStream s) : reader(std::move(s)) {}
    StreamReader<UnixStream> reader;
    int requests = 0;
};

template <class T>
weft::Task<T> run_value(weft::Task<T> task) {
    co_return co_await std::move(task);
}

}  // namespace

TEST_CASE("io_stream_reader: a struct holding a reader and its stream can be moved", "[io][stream_reader]") {
    // Regression: BufferedReader kept a raw pointer to a stream stored next to it, so moving
    // the struct left the reader reading the moved-from (here: freed) stream; ASan reported
    // heap-use-after-free in Descriptor::fd(). The reader now owns the stream.
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        co_await a.write_all(std::string_view("hello\nworld\n"));
        auto first = std::make_unique<Connection>(std::move(b));
        Connection moved = std::move(*first);
        first.reset();  // the moved-from struct is gone
        std::optional<std::string> line = co_await moved.reader.read_line();
        REQUIRE(line);
        CHECK(*line == "hello");
        std::vector<Connection> many;
        many.push_back(std::move(moved));
        many.reserve(64);  // reallocates: every element moves again
        line = co_await many.front().reader.read_line();
        REQUIRE(line);
        CHECK(*line == "world");
        CHECK(many.front().reader.get().is_open());
    }());
}

TEST_CASE("io_stream_reader: read_until finds a separator split across reads at every point", "[io][stream_reader]") {
    const std::string message = "GET / HTTP/1.1\r\nHost: x\r\n\r\nBODY";
    for (std::size_t cut1 = 1; cut1 < message.size(); ++cut1) {
        for (std::size_t cut2 = cut1; cut2 <= message.size(); cut2 += 3) {
            std::vector<std::string> chunks{message.substr(0, cut1), message.substr(cut1, cut2 - cut1),
                                            message.substr(cut2)};
            std::erase(chunks, std::string());
            auto [head, rest] =
                weft::run([](std::vector<std::string> chunks) -> weft::Task<std::pair<std::string, std::string>> {
                    StreamReader reader(ScriptedStream(std::move(chunks)));
                    std::string head = co_await reader.read_until("\r\n\r\n");
                    std::string rest = co_await reader.read_to_end();
                    co_return std::pair{head, rest};
                }(chunks));
            INFO("cuts " << cut1 << ", " << cut2);
            CHECK(head == "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            CHECK(rest == "BODY");
        }
    }
}

TEST_CASE("io_stream_reader: read_until at end of stream raises IncompleteReadError with the partial data",
          "[io][stream_reader]") {
    weft::run([]() -> weft::Task<void> {
        StreamReader reader(ScriptedStream({"abc\r\n", "def\r"}));
        std::string partial;
        std::optional<std::size_t> expected = 1;
        std::string message;
        try {
            co_await reader.read_until("\r\n\r\n");
        } catch (const weft::IncompleteReadError& e) {
            partial = e.partial();
            expected = e.expected();
            message = e.what();
        }
        CHECK(partial == "abc\r\ndef\r");
        CHECK(!expected);
        CHECK(message == "StreamReader::read_until: the stream ended after 9 bytes without the separator");
        CHECK(reader.at_eof());
        bool eof = co_await test::throws<weft::UnexpectedEof>(reader.read_until("x"));  // a subclass of it
        CHECK(eof);
        bool usage = co_await test::throws<weft::UsageError>(reader.read_until(""));
        CHECK(usage);
    }());
}

TEST_CASE("io_stream_reader: LimitOverrun leaves the bytes buffered", "[io][stream_reader]") {
    weft::run([]() -> weft::Task<void> {
        // limit 8: "12345678;" has the separator at index 8 (allowed); "123456789;" at 9 (not).
        StreamReader reader(ScriptedStream({"12345678;", "1234", "56789;", "tail"}), 8);
        std::string first = co_await reader.read_until(";");
        CHECK(first == "12345678;");
        std::size_t consumed = 0;
        std::string message;
        try {
            co_await reader.read_until(";");
        } catch (const weft::LimitOverrun& e) {
            consumed = e.consumed();
            message = e.what();
            CHECK(e.code() == EMSGSIZE);
        }
        CHECK(consumed == 9);  // asyncio's LimitOverrunError.consumed: the separator's index
        CHECK(message == "StreamReader::read_until: no separator within the limit of 8 bytes (9 bytes before it)");
        // Nothing was lost: the bytes are still there, in order.
        std::string rest = co_await reader.read_to_end();
        CHECK(rest == "123456789;tail");

        StreamReader lines(ScriptedStream({"short\n", std::string(20, 'x') + "\nafter\n"}), 8);
        auto l1 = co_await lines.read_line();
        CHECK(l1 == "short");
        bool overrun = co_await test::throws<weft::LimitOverrun>(lines.read_line());
        CHECK(overrun);
        std::string kept = co_await lines.read_exactly(21);
        CHECK(kept == std::string(20, 'x') + "\n");
        auto l3 = co_await lines.read_line();
        CHECK(l3 == "after");
    }());
}

TEST_CASE("io_stream_reader: LimitOverrun::consumed() is asyncio's: consume() it and the next line is intact",
          "[io][stream_reader]") {
    weft::run([]() -> weft::Task<void> {
        // asyncio's recipe for an over-long line: read `consumed` bytes, then readline().
        StreamReader reader(ScriptedStream({std::string(16, 'x') + "\nnext\nlast\n"}), 8);
        std::size_t consumed = 0;
        try {
            co_await reader.read_line();
        } catch (const weft::LimitOverrun& e) {
            consumed = e.consumed();
        }
        CHECK(consumed == 16);
        reader.consume(consumed);
        auto rest_of_long = co_await reader.read_line();
        auto next = co_await reader.read_line();
        CHECK(rest_of_long == "");
        CHECK(next == "next");
        // No separator at all: every byte that cannot start one (asyncio: buflen + 1 - seplen).
        StreamReader none(ScriptedStream({std::string(11, 'a') + "\r"}), 8);
        try {
            co_await none.read_until("\r\n");
        } catch (const weft::LimitOverrun& e) {
            consumed = e.consumed();
        }
        CHECK(consumed == 11);
        auto kept = co_await none.read_to_end();
        CHECK(kept == std::string(11, 'a') + "\r");
    }());
}

TEST_CASE("io_stream_reader: a limit of 0 is a UsageError, and a huge read_exactly reserves nothing up front",
          "[io][stream_reader]") {
    CHECK_THROWS_AS(StreamReader(ScriptedStream({}), 0), weft::UsageError);
    weft::run([]() -> weft::Task<void> {
        // A peer's length prefix of 1 TiB: the 18 bytes that came are reported, nothing reserved.
        StreamReader reader(ScriptedStream({"eighteen bytes....", ""}));
        std::string partial;
        std::optional<std::size_t> expected;
        try {
            co_await reader.read_exactly(std::size_t{1} << 40);
        } catch (const weft::IncompleteReadError& e) {
            partial = e.partial();
            expected = e.expected();
        }
        CHECK(partial == "eighteen bytes....");
        CHECK(expected == (std::size_t{1} << 40));
    }());
}

TEST_CASE("io_stream_reader: the read_line convention", "[io][stream_reader]") {
    weft::run([]() -> weft::Task<void> {
        StreamReader reader(ScriptedStream({"first\nsec", "ond\r\n", "\n", "\r\n", "a line\r", "\nlast"}), 16);
        std::vector<std::string> lines;
        while (auto line = co_await reader.read_line()) lines.push_back(*line);
        CHECK(lines == std::vector<std::string>{"first", "second", "", "", "a line", "last"});
        auto again = co_await reader.read_line();
        CHECK(!again);  // the end of the stream stays the end
        StreamReader empty(ScriptedStream({}));
        auto none = co_await empty.read_line();
        CHECK(!none);
        StreamReader blank(ScriptedStream({"\n"}));
        auto l1 = co_await blank.read_line();
        auto l2 = co_await blank.read_line();
        CHECK(l1 == "");  // an empty line is "", never the end
        CHECK(!l2);
    }());
}

TEST_CASE("io_stream_reader: read_exactly, read_exact and read mix buffered and direct bytes", "[io][stream_reader]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        std::string data = test::pattern(4, 100000);
        co_await a.write_all(data);  // fits in the socketpair's buffer
        a.shutdown();
        StreamReader reader(std::move(b));
        std::string got = co_await reader.read_exactly(10);
        got.resize(data.size());
        std::size_t n = co_await reader.read(got.data() + 10, 5);  // from the buffer
        CHECK(n == 5);
        co_await reader.read_exact(got.data() + 15, data.size() - 15);
        CHECK(got == data);
        char extra;
        auto got1 = co_await reader.read(&extra, 1);
        CHECK(got1 == 0);
        CHECK(reader.at_eof());
        std::string partial = "none";
        std::optional<std::size_t> expected;
        try {
            co_await reader.read_exactly(3);
        } catch (const weft::IncompleteReadError& e) {
            partial = e.partial();
            expected = e.expected();
        }
        CHECK(partial.empty());
        CHECK(expected == 3u);
    }());
    weft::run([]() -> weft::Task<void> {
        StreamReader reader(ScriptedStream({"ab", "cd", "e"}));
        std::string partial;
        try {
            co_await reader.read_exactly(6);
        } catch (const weft::IncompleteReadError& e) {
            partial = e.partial();
            CHECK(std::string(e.what()) == "StreamReader::read_exactly: the stream ended after 5 bytes of 6");
        }
        CHECK(partial == "abcde");
    }());
}

TEST_CASE("io_stream_reader: read_to_end of 8 MB from a pipe, exact bytes", "[io][stream_reader]") {
    weft::run([]() -> weft::Task<void> {
        auto [r, w] = weft::net::pipe();
        std::string data = test::pattern(9, 8 << 20);
        auto writer = weft::spawn([](weft::net::PipeWriter w, const std::string& data) -> weft::Task<void> {
            co_await w.write_all(data.data(), data.size());
            w.close();
        }(std::move(w), data));
        StreamReader reader(std::move(r));
        std::string head = co_await reader.read_exactly(3);
        std::string rest = co_await reader.read_to_end();
        co_await writer;
        CHECK(head.size() + rest.size() == data.size());
        CHECK(head + rest == data);
    }());
}

TEST_CASE("io_stream_reader: a read_until cancelled by a timeout loses no byte", "[io][stream_reader]") {
    weft::run(
        []() -> weft::Task<void> {
            auto [a, b] = UnixStream::pair();
            StreamReader reader(std::move(b));
            co_await a.write_all(std::string_view("part one, "));
            bool timed_out = false;
            try {
                auto deadline = weft::timeout(1s);  // nothing more comes: the wait is cut short
                co_await reader.read_until("\r\n\r\n");
            } catch (const weft::TimeoutError&) {
                timed_out = true;
            }
            CHECK(timed_out);
            CHECK(std::string_view(reader.buffered().data(), reader.buffered().size()) == "part one, ");
            co_await a.write_all(std::string_view("part two\r\n\r\nnext"));
            std::string got = co_await reader.read_until("\r\n\r\n");
            CHECK(got == "part one, part two\r\n\r\n");
        }(),
        test::paused_clock());
}
