// weft::fs on the blocking pool: whole-file round trips (incl. 100 MB), atomic replacement,
// clear errors for a missing path, and AsyncFile read/write/seek/line iteration.
#include <catch2/catch.hpp>

#include <weft/testing/fs_hooks.hpp>
#include <weft/weft.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <future>
#include <latch>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/bridge.hpp"
#include "support/scaled.hpp"

namespace {

// A fresh directory per test case, removed afterwards.
class TempDir {
public:
    TempDir() {
        static std::atomic<int> counter{0};
        path_ = std::filesystem::temp_directory_path() /
                ("weft-io-fs-" + std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)));
        std::filesystem::create_directories(path_);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

std::string pattern(std::size_t size) {
    std::string data(size, '\0');
    std::uint32_t x = 2463534242u;  // xorshift: no accidental periodicity
    for (auto& c : data) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    return data;
}

weft::Task<bool> round_trip(std::filesystem::path path, std::string data, bool fsync) {
    co_await weft::fs::write_file(path, data, {.fsync = fsync});
    std::string back = co_await weft::fs::read_file(path);
    co_return back == data;
}

struct MissingOutcome {
    int code = 0;
    std::string what;
};

weft::Task<MissingOutcome> read_missing(std::filesystem::path path) {
    try {
        (void)co_await weft::fs::read_file(path);
    } catch (const weft::IoError& e) {
        co_return MissingOutcome{e.code(), e.what()};
    }
    co_return MissingOutcome{};
}

weft::Task<MissingOutcome> open_missing(std::filesystem::path path) {
    try {
        auto file = co_await weft::fs::AsyncFile::open(path);
    } catch (const weft::IoError& e) {
        co_return MissingOutcome{e.code(), e.what()};
    }
    co_return MissingOutcome{};
}

weft::Task<std::vector<std::string>> lines_of(std::filesystem::path path) {
    auto file = co_await weft::fs::AsyncFile::open(path);
    std::vector<std::string> lines;
    while (auto line = co_await file.read_line()) lines.push_back(std::move(*line));
    co_await file.close();
    co_return lines;
}

struct FileOps {
    std::string head;
    std::string after_seek;
    std::uint64_t position = 0;
    std::string patched;
    std::string rest;
    std::size_t written = 0;
};

weft::Task<FileOps> file_operations(std::filesystem::path path) {
    FileOps out;
    {
        auto file = co_await weft::fs::AsyncFile::open(path, weft::fs::OpenMode::write);
        out.written = co_await file.write("0123456789abcdefghij\nsecond line\n");
        co_await file.sync();
        co_await file.close();
    }
    auto file = co_await weft::fs::AsyncFile::open(path, weft::fs::OpenMode::read_write);
    out.head = co_await file.read(4);                      // "0123"
    out.position = co_await file.seek(10);                 // absolute
    out.after_seek = co_await file.read(3);                // "abc"
    co_await file.seek(-3, weft::fs::Whence::current);     // back to 10 (the read-ahead is accounted for)
    co_await file.write("ABC");                            // overwrite in place
    co_await file.seek(0);
    out.patched = *co_await file.read_line();
    out.rest = co_await file.read_to_end();
    co_return out;
}

weft::Task<std::string> append_twice(std::filesystem::path path) {
    for (const char* part : {"one\n", "two\n"}) {
        auto file = co_await weft::fs::AsyncFile::open(path, weft::fs::OpenMode::append);
        co_await file.write(part);
    }
    co_return co_await weft::fs::read_file(path);
}

}  // namespace

TEST_CASE("write_file and read_file round-trip small and empty files", "[io][fs]") {
    TempDir dir;
    REQUIRE(weft::run(round_trip(dir / "small.txt", "hello, weft\n", false)));
    REQUIRE(weft::run(round_trip(dir / "empty", "", true)));
    REQUIRE(weft::run(round_trip(dir / "small.txt", "replaced", true)));  // over an existing file
    // Nothing but the target is left behind (the temporary file was renamed over it).
    std::vector<std::string> names;
    for (auto& entry : std::filesystem::directory_iterator(dir.path())) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    REQUIRE(names == std::vector<std::string>{"empty", "small.txt"});
}

TEST_CASE("a 100 MB file round-trips byte for byte", "[io][fs]") {
    TempDir dir;
    const std::size_t size = test::scaled<std::size_t>(100u << 20, 8u << 20);
    REQUIRE(weft::run(round_trip(dir / "big.bin", pattern(size), false)));
    REQUIRE(std::filesystem::file_size(dir / "big.bin") == size);
}

TEST_CASE("a missing path is a clear IoError", "[io][fs]") {
    TempDir dir;
    auto missing = dir / "no" / "such-file";
    MissingOutcome read = weft::run(read_missing(missing));
    REQUIRE(read.code == ENOENT);
    REQUIRE_THAT(read.what, Catch::Contains("read_file") && Catch::Contains(missing.string()) &&
                                Catch::Contains("No such file or directory"));
    MissingOutcome open = weft::run(open_missing(missing));
    REQUIRE(open.code == ENOENT);
    REQUIRE_THAT(open.what, Catch::Contains("AsyncFile::open") && Catch::Contains(missing.string()));
    // write_file into a directory that does not exist fails too, leaving nothing behind.
    REQUIRE_THROWS_AS(weft::run(weft::fs::write_file(missing, "x")), weft::IoError);
}

TEST_CASE("AsyncFile iterates lines, including a last line without a newline", "[io][fs]") {
    TempDir dir;
    std::string text;
    const int count = 20'000;  // several 64 KiB read-ahead chunks; lines straddle them
    for (int i = 0; i < count; ++i) text += "line " + std::to_string(i) + (i % 7 == 3 ? "" : " padding") + "\n";
    text += "tail without newline";
    weft::run(round_trip(dir / "lines.txt", text, false));
    auto lines = weft::run(lines_of(dir / "lines.txt"));
    REQUIRE(lines.size() == count + 1);
    REQUIRE(lines[0] == "line 0 padding");
    REQUIRE(lines[3] == "line 3");
    REQUIRE(lines[count - 1] == "line " + std::to_string(count - 1) + " padding");
    REQUIRE(lines[count] == "tail without newline");
    weft::run(round_trip(dir / "blank.txt", "\n\nx\n", false));
    REQUIRE(weft::run(lines_of(dir / "blank.txt")) == std::vector<std::string>{"", "", "x"});
}

TEST_CASE("AsyncFile reads, writes and seeks", "[io][fs]") {
    TempDir dir;
    FileOps out = weft::run(file_operations(dir / "ops.txt"));
    REQUIRE(out.written == 33);
    REQUIRE(out.head == "0123");
    REQUIRE(out.position == 10);
    REQUIRE(out.after_seek == "abc");
    REQUIRE(out.patched == "0123456789ABCdefghij");
    REQUIRE(out.rest == "second line\n");
    REQUIRE(weft::run(append_twice(dir / "append.txt")) == "one\ntwo\n");
}

TEST_CASE("read_file reads files whose size is not known up front (procfs)", "[io][fs]") {
    std::string status = weft::run(weft::fs::read_file("/proc/self/status"));
    REQUIRE_THAT(status, Catch::StartsWith("Name:"));
    REQUIRE(status.back() == '\n');
}

TEST_CASE("write_file through a symlink replaces the file it points to and keeps the link", "[io][fs]") {
    TempDir dir;
    std::filesystem::create_directories(dir / "real");
    REQUIRE(weft::run(round_trip(dir / "real" / "config", "old", false)));
    std::filesystem::create_symlink("real/config", dir / "link");        // relative
    std::filesystem::create_symlink(dir / "link", dir / "link-to-link");  // absolute, and a chain
    REQUIRE(weft::run(round_trip(dir / "link", "via link", false)));
    CHECK(std::filesystem::is_symlink(dir / "link"));
    CHECK(weft::run(weft::fs::read_file(dir / "real" / "config")) == "via link");
    REQUIRE(weft::run(round_trip(dir / "link-to-link", "via chain", true)));
    CHECK(std::filesystem::is_symlink(dir / "link-to-link"));
    CHECK(std::filesystem::is_symlink(dir / "link"));
    CHECK(weft::run(weft::fs::read_file(dir / "real" / "config")) == "via chain");
    // A dangling link: the file it names is created, as open(O_CREAT) does.
    std::filesystem::create_symlink("real/new-file", dir / "dangling");
    REQUIRE(weft::run(round_trip(dir / "dangling", "created", false)));
    CHECK(std::filesystem::is_symlink(dir / "dangling"));
    CHECK(weft::run(weft::fs::read_file(dir / "real" / "new-file")) == "created");
    // Nothing is left beside the target.
    std::vector<std::string> names;
    for (auto& entry : std::filesystem::directory_iterator(dir / "real")) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"config", "new-file"});
    // A loop of links is a clear IoError (ELOOP), not a hang.
    std::filesystem::create_symlink("loop-b", dir / "loop-a");
    std::filesystem::create_symlink("loop-a", dir / "loop-b");
    try {
        weft::run(weft::fs::write_file(dir / "loop-a", "x"));
        FAIL("write_file through a loop of links did not throw");
    } catch (const weft::IoError& e) {
        CHECK(e.code() == ELOOP);
    }
}

TEST_CASE("write_file into a FIFO writes to it rather than replacing it (a device likewise)", "[io][fs]") {
    TempDir dir;
    const auto fifo = dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // A reader on a plain thread (the write blocks on the FIFO until one opens it).
    std::string got;
    std::thread reader([&] {
        FILE* in = std::fopen(fifo.c_str(), "r");
        char buf[64];
        std::size_t n;
        while (in && (n = std::fread(buf, 1, sizeof buf, in)) > 0) got.append(buf, n);
        if (in) std::fclose(in);
    });
    weft::run(weft::fs::write_file(fifo, "through the pipe"));
    reader.join();
    CHECK(got == "through the pipe");
    CHECK(std::filesystem::is_fifo(fifo));
}

namespace {

// A FIFO whose reader reads one byte and goes away while the writer still has megabytes to write.
template <class Write>
std::string write_to_departed_reader(const std::filesystem::path& fifo, Write write) {
    std::thread reader([&] {
        FILE* in = std::fopen(fifo.c_str(), "r");
        if (in) {
            (void)std::fgetc(in);
            std::fclose(in);
        }
    });
    std::string outcome = "no error";
    try {
        weft::run(write());
    } catch (const weft::BrokenPipe&) {
        outcome = "BrokenPipe";
    } catch (const std::exception& e) {
        outcome = e.what();
    }
    reader.join();
    return outcome;
}

}  // namespace

TEST_CASE("writes into a FIFO whose reader has gone throw BrokenPipe, and the process goes on", "[io][fs]") {
    // (Python ignores SIGPIPE: its write raises BrokenPipeError. Unblocked on a blocking-pool
    // thread, SIGPIPE killed the whole process.)
    TempDir dir;
    const auto fifo = dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const std::string big(4u << 20, 'x');
    CHECK(write_to_departed_reader(fifo, [&] { return weft::fs::write_file(fifo, big); }) == "BrokenPipe");
    CHECK(write_to_departed_reader(fifo, [&]() -> weft::Task<void> {
              auto file = co_await weft::fs::AsyncFile::open(fifo, weft::fs::OpenMode::write);
              co_await file.write(big);
          }) == "BrokenPipe");
}

TEST_CASE("a cancelled write_file never replaces the file afterwards", "[io][fs]") {
    // The call goes on in the background; before the rename it sees the cancellation and drops
    // its temporary file, so a later write_file cannot be overwritten by an older one.
    TempDir dir;
    const auto path = dir / "state";
    weft::run(weft::fs::write_file(path, "old"));
    std::promise<void> entered;
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::latch finished{1};
    auto signal = std::make_shared<test::DropSignal>(finished);  // dies with the call's last copy of the hook
    weft::testing::set_write_file_before_rename([signal, &entered, released] {
        entered.set_value();
        released.wait();
    });
    signal.reset();
    weft::run([&]() -> weft::Task<void> {
        auto write = weft::spawn(weft::fs::write_file(path, "v1"));
        co_await weft::offload([&] { entered.get_future().wait(); });  // it is inside, before the rename
        weft::testing::set_write_file_before_rename({});
        write.cancel();
        bool cancelled = false;
        try {
            co_await std::move(write);
        } catch (const weft::CancelledError&) {
            cancelled = true;
        }
        CHECK(cancelled);
        release.set_value();
        co_await weft::offload([&] { finished.wait(); });  // its background work has ended
        std::string content = co_await weft::fs::read_file(path);
        CHECK(content == "old");
        co_await weft::fs::write_file(path, "v2");
        std::string later = co_await weft::fs::read_file(path);
        CHECK(later == "v2");
    }());
    std::vector<std::string> names;
    for (auto& entry : std::filesystem::directory_iterator(dir.path())) names.push_back(entry.path().filename());
    CHECK(names == std::vector<std::string>{"state"});  // no temporary file left
}

TEST_CASE("write_file gives a new file its permissions less the umask, an existing file keeps its mode", "[io][fs]") {
    TempDir dir;
    const mode_t saved = ::umask(077);
    weft::run(weft::fs::write_file(dir / "secret", "s"));
    weft::run(weft::fs::write_file(dir / "wide", "w", {.permissions = 0666}));
    ::umask(saved);
    struct stat info{};
    REQUIRE(::stat((dir / "secret").c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0600);
    REQUIRE(::stat((dir / "wide").c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0600);
    REQUIRE(::chmod((dir / "wide").c_str(), 0640) == 0);
    weft::run(weft::fs::write_file(dir / "wide", "again"));
    REQUIRE(::stat((dir / "wide").c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0640);
}

TEST_CASE("AsyncFile reads what was appended after it met the end of the file", "[io][fs]") {
    TempDir dir;
    const auto path = dir / "growing.log";
    weft::run(weft::fs::write_file(path, "line1\n"));
    weft::run([&]() -> weft::Task<void> {
        auto reader = co_await weft::fs::AsyncFile::open(path);
        auto first = co_await reader.read_line();
        CHECK(first == std::optional<std::string>("line1"));
        auto none = co_await reader.read_line();
        CHECK_FALSE(none.has_value());
        auto writer = co_await weft::fs::AsyncFile::open(path, weft::fs::OpenMode::append);
        co_await writer.write("line2\n");
        auto second = co_await reader.read_line();
        CHECK(second == std::optional<std::string>("line2"));
        std::string empty = co_await reader.read(100);
        CHECK(empty.empty());
        co_await writer.write("tail");
        std::string tail = co_await reader.read(100);
        CHECK(tail == "tail");
    }());
}

TEST_CASE("AsyncFile::read_line returns a line from a FIFO whose writer stays open", "[io][fs]") {
    TempDir dir;
    const auto fifo = dir / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    std::promise<void> got_line;
    std::thread writer([&] {
        FILE* out = std::fopen(fifo.c_str(), "w");
        if (!out) return;
        std::fputs("hello\n", out);
        std::fflush(out);
        got_line.get_future().wait();  // open until the reader has its line
        std::fclose(out);
    });
    std::optional<std::string> line;
    try {
        line = weft::run([&]() -> weft::Task<std::optional<std::string>> {
            auto file = co_await weft::fs::AsyncFile::open(fifo);
            // (A guard against a hang, not a timing check: the line is there at once.)
            co_return co_await weft::wait_for(file.read_line(), std::chrono::seconds(30));
        }());
    } catch (const weft::TimeoutError&) {
    }
    got_line.set_value();
    writer.join();
    CHECK(line == std::optional<std::string>("hello"));
}

TEST_CASE("fs: a NUL in a path, a directory opened as a file, a huge read, a 250-byte name", "[io][fs]") {
    TempDir dir;
    weft::run(weft::fs::write_file(dir / "real", "content"));
    const std::filesystem::path with_nul = (dir / "real").string() + std::string("\0.png", 5);
    CHECK_THROWS_AS(weft::run(weft::fs::read_file(with_nul)), weft::UsageError);
    CHECK_THROWS_AS(weft::run(weft::fs::write_file(with_nul, "x")), weft::UsageError);
    CHECK_THROWS_AS(weft::run(weft::fs::AsyncFile::open(with_nul)), weft::UsageError);
    CHECK(weft::run(weft::fs::read_file(dir / "real")) == "content");  // untouched
    try {
        auto opened = weft::run(weft::fs::AsyncFile::open(dir.path()));
        FAIL("AsyncFile::open of a directory succeeded");
    } catch (const weft::IoError& e) {
        CHECK(e.code() == EISDIR);
    }
    std::string whole = weft::run([&]() -> weft::Task<std::string> {
        auto file = co_await weft::fs::AsyncFile::open(dir / "real");
        co_return co_await file.read(SIZE_MAX);
    }());
    CHECK(whole == "content");
    const std::string long_name(250, 'n');
    REQUIRE(weft::run(round_trip(dir / long_name, "long", false)));
}
