// BufferedReader / BufferedWriter over a socket pair: lines split across reads, CRLF, a
// last line without a newline, read_exact across the buffer boundary, writes gathered
// until flush().
#include <catch2/catch.hpp>

#include <sys/ioctl.h>

#include <string>
#include <vector>

#include <weft/io_error.hpp>
#include <weft/net/buffered_reader.hpp>
#include <weft/net/buffered_writer.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>

#include "support/io.hpp"

using weft::net::BufferedReader;
using weft::net::BufferedWriter;
using weft::net::UnixStream;

TEST_CASE("io_buffered: read_line over awkward chunks", "[io][buffered]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        BufferedReader reader(b, 16);  // smaller than some lines
        for (const char* chunk : {"first\nsec", "ond\r\n", "a line longer than the buffer\n", "\nlast"})
            co_await a.write_all(std::string_view(chunk));
        a.close();
        std::vector<std::string> lines;
        std::string line;
        while (co_await reader.read_line(line)) lines.push_back(line);
        CHECK(lines == std::vector<std::string>{"first", "second", "a line longer than the buffer", "", "last"});
    }());
}

TEST_CASE("io_buffered: read_exact and read mix buffered and direct bytes", "[io][buffered]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        std::string data = test::pattern(4, 100000);
        co_await a.write_all(data);  // fits in the socketpair's buffer
        a.shutdown();
        BufferedReader reader(b, 1000);
        std::string got(data.size(), '\0');
        co_await reader.read_exact(got.data(), 10);                 // fills 1000, takes 10
        std::size_t n = co_await reader.read(got.data() + 10, 5000);  // the 990 buffered only
        CHECK(n == 990);
        co_await reader.read_exact(got.data() + 1000, data.size() - 1000);  // large: partly direct
        CHECK(got == data);
        char extra;
        auto got1 = co_await reader.read(&extra, 1);
        CHECK(got1 == 0);
        bool threw2 = co_await test::throws<weft::UnexpectedEof>(reader.read_exact(&extra, 1));
        CHECK(threw2);
    }());
}

TEST_CASE("io_buffered: BufferedWriter sends nothing until flush, then everything in order", "[io][buffered]") {
    weft::run([]() -> weft::Task<void> {
        auto [a, b] = UnixStream::pair();
        BufferedWriter writer(a, 64);
        std::string expected;
        for (int i = 0; i < 10; ++i) {
            std::string piece = "piece " + std::to_string(i) + ";";
            co_await writer.write(piece);
            expected += piece;
        }
        // 80 bytes through a 64-byte buffer: one flush of 64 went out, 16 wait.
        int sent = 0;
        ::ioctl(b.native_handle(), FIONREAD, &sent);
        CHECK(sent == 64);
        CHECK(writer.pending() == 16);
        std::string big = test::pattern(8, 1000);  // bigger than the buffer: written through
        co_await writer.write(big);
        expected += big;
        co_await writer.write("tail");
        expected += "tail";
        co_await writer.flush();
        CHECK(writer.pending() == 0);
        a.shutdown();
        BufferedReader reader(b);
        std::string got(expected.size(), '\0');
        co_await reader.read_exact(got.data(), got.size());
        CHECK(got == expected);
    }());
}
