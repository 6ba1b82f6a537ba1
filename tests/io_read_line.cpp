// weft's one read_line convention, through every line reader: StreamReader (over a pipe)
// and fs::AsyncFile give the same lines for the same bytes: no "\n" or "\r\n", a last line
// without "\n" as it is, an empty line as "", and nullopt at the end.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include <weft/fs.hpp>
#include <weft/net/pipe.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/run.hpp>
#include <weft/task.hpp>

TEST_CASE("io_read_line: StreamReader and AsyncFile follow the same convention", "[io][read_line]") {
    const std::string text = "one\ntwo\r\n\n\r\nthree\r\r\nlast";
    const std::vector<std::string> expected{"one", "two", "", "", "three\r", "last"};
    std::string path = "/tmp/weft_read_line_" + std::to_string(::getpid());
    auto [from_pipe, from_file] =
        weft::run([](std::string text,
                     std::string path) -> weft::Task<std::pair<std::vector<std::string>, std::vector<std::string>>> {
            auto [r, w] = weft::net::pipe();
            co_await w.write_all(text.data(), text.size());
            w.close();
            weft::net::StreamReader reader(std::move(r));
            std::vector<std::string> from_pipe;
            while (auto line = co_await reader.read_line()) from_pipe.push_back(*line);
            auto end = co_await reader.read_line();
            CHECK(!end);

            co_await weft::fs::write_file(path, text);
            auto file = co_await weft::fs::AsyncFile::open(path, weft::fs::OpenMode::read);
            std::vector<std::string> from_file;
            while (auto line = co_await file.read_line()) from_file.push_back(*line);
            co_return std::pair{from_pipe, from_file};
        }(text, path));
    ::unlink(path.c_str());
    CHECK(from_pipe == expected);
    CHECK(from_file == expected);
}
