// weft::process: real child processes (/bin/true, sh, cat, cksum): exit statuses asyncio's
// way, errors naming the program, descriptors the child sees, pipes as weft streams,
// communicate() with megabytes both ways, cancellation that kills nothing, signals, env and
// cwd, many processes at once, and reaping of children whose Process was dropped.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/process/process.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/yield.hpp>

#include "orphan_reaper.hpp"
#include "support/clock.hpp"
#include "support/io.hpp"

using weft::process::Options;
using weft::process::Process;
using weft::process::Stdio;
using namespace std::chrono_literals;

// (g++ 12 rejects a braced argument list inside a co_await expression: "array used as
// initializer". So each run_output/run_status task is made first, then awaited.)

namespace {

// Whether `pid` is still a child of ours (running, or a zombie nobody reaped).
bool is_our_child(pid_t pid) {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

// Whether this process has any child left at all, reaped or not.
bool has_children() {
    siginfo_t info{};
    return ::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

weft::Task<int> run_status(std::vector<std::string> argv) {
    auto child = weft::process::spawn(std::move(argv));
    int status = co_await child.wait();
    co_return status;
}

weft::Task<weft::process::Output> run_output(std::vector<std::string> argv, Options options, std::string input = {}) {
    auto child = weft::process::spawn(std::move(argv), std::move(options));
    auto output = co_await child.communicate(std::move(input));
    co_return output;
}

// POSIX cksum(1): CRC-32 (polynomial 0x04C11DB7, MSB first) over the bytes then the length.
std::uint32_t posix_cksum(const std::string& data) {
    static const auto table = [] {
        std::vector<std::uint32_t> t(256);
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t r = i << 24;
            for (int bit = 0; bit < 8; ++bit) r = (r & 0x80000000u) ? (r << 1) ^ 0x04C11DB7u : r << 1;
            t[i] = r;
        }
        return t;
    }();
    std::uint32_t crc = 0;
    auto add = [&](unsigned char byte) { crc = (crc << 8) ^ table[((crc >> 24) ^ byte) & 0xFF]; };
    for (char c : data) add(static_cast<unsigned char>(c));
    for (std::size_t n = data.size(); n != 0; n >>= 8) add(static_cast<unsigned char>(n & 0xFF));
    return ~crc;
}

template <class E>
E thrown_by(std::vector<std::string> argv, Options options = {}) {
    try {
        weft::process::spawn(std::move(argv), std::move(options));
    } catch (const E& e) {
        return e;
    }
    FAIL("spawn did not throw");
    throw;  // unreachable
}

}  // namespace

TEST_CASE("io_process: exit statuses are asyncio's: the exit code, or minus the signal", "[io][process]") {
    weft::run([]() -> weft::Task<void> {
        auto ok_task = run_status({"/bin/true"});
        int ok = co_await std::move(ok_task);
        CHECK(ok == 0);
        auto failed_task = run_status({"/bin/false"});
        int failed = co_await std::move(failed_task);
        CHECK(failed == 1);
        auto seven_task = run_status({"sh", "-c", "exit 7"});
        int seven = co_await std::move(seven_task);
        CHECK(seven == 7);
        auto killed_task = run_status({"sh", "-c", "kill -9 $$"});
        int killed = co_await std::move(killed_task);
        CHECK(killed == -9);

        // nullopt while it runs (cat waits for its stdin), the status once it exited.
        auto cat = weft::process::spawn({"cat"}, {.in = Stdio::pipe});
        CHECK_FALSE(cat.returncode().has_value());
        CHECK(cat.pid() > 0);
        cat.in().close();
        int status = co_await cat.wait();
        CHECK(status == 0);
        CHECK(cat.returncode() == 0);
        int again = co_await cat.wait();  // waiting again returns the same status
        CHECK(again == 0);
    }());
}

TEST_CASE("io_process: a program that cannot run throws ProcessError naming it", "[io][process]") {
    auto missing = thrown_by<weft::ProcessError>({"weft-no-such-program", "--flag"});
    CHECK(missing.code() == ENOENT);
    CHECK(missing.program() == "weft-no-such-program");
    CHECK_THAT(missing.what(), Catch::Contains("weft-no-such-program") && Catch::Contains("not found"));

    auto missing_path = thrown_by<weft::ProcessError>({"/nonexistent/dir/tool"});
    CHECK(missing_path.code() == ENOENT);
    CHECK_THAT(missing_path.what(), Catch::Contains("/nonexistent/dir/tool"));

    // A file without execute permission, and an executable one that is no program.
    char dir_template[] = "/tmp/weft_process_XXXXXX";
    std::string dir = ::mkdtemp(dir_template);
    std::string plain = dir + "/plain", garbage = dir + "/garbage";
    std::ofstream(plain) << "echo hi\n";
    std::ofstream(garbage) << "\x7f" "ELF not really\n";
    ::chmod(plain.c_str(), 0644);
    ::chmod(garbage.c_str(), 0755);
    auto not_executable = thrown_by<weft::ProcessError>({plain});
    CHECK(not_executable.code() == EACCES);
    auto not_a_program = thrown_by<weft::ProcessError>({garbage});
    CHECK(not_a_program.code() == ENOEXEC);
    CHECK_THAT(not_a_program.what(), Catch::Contains(garbage));
    auto denied_in_path =
        thrown_by<weft::ProcessError>({"plain"}, {.env = std::map<std::string, std::string>{{"PATH", dir}}});
    CHECK(denied_in_path.code() == EACCES);
    ::unlink(plain.c_str());
    ::unlink(garbage.c_str());
    ::rmdir(dir.c_str());

    auto missing_cwd = thrown_by<weft::ProcessError>({"/bin/true"}, {.cwd = "/nonexistent/weft-cwd"});
    CHECK(missing_cwd.code() == ENOENT);
    CHECK_THAT(missing_cwd.what(), Catch::Contains("cwd '/nonexistent/weft-cwd'"));

    // An IoError too, for code that catches those.
    CHECK_THROWS_AS(weft::process::spawn({"weft-no-such-program"}), weft::IoError);

    CHECK_THROWS_AS(weft::process::spawn({}), weft::UsageError);
    CHECK_THROWS_AS(weft::process::spawn({""}), weft::UsageError);
    CHECK_THROWS_AS(weft::process::spawn({"/bin/true"}, {.out = Stdio::merge}), weft::UsageError);
    CHECK_THROWS_AS(weft::process::spawn({"/bin/true", std::string("a\0b", 3)}), weft::UsageError);
    CHECK_THROWS_AS(weft::process::spawn({"/bin/true"}, {.env = std::map<std::string, std::string>{{"A=B", "c"}}}),
                    weft::UsageError);
    Process none;
    CHECK_THROWS_AS(none.pid(), weft::UsageError);
    CHECK_FALSE(has_children());  // nothing failed half-way leaves a child behind
}

TEST_CASE("io_process: the child sees only descriptors 0, 1 and 2", "[io][process]") {
    // A descriptor opened without O_CLOEXEC must not leak either (the child closes 3 and up).
    int leaky = ::open("/dev/null", O_RDONLY);
    REQUIRE(leaky > 2);
    weft::run([]() -> weft::Task<void> {
        auto all_piped_task =
            run_output({"sh", "-c", "ls /proc/$$/fd"}, {.in = Stdio::pipe, .out = Stdio::pipe, .err = Stdio::pipe});
        auto all_piped = co_await std::move(all_piped_task);
        CHECK(all_piped.out == "0\n1\n2\n");
        CHECK(all_piped.err.empty());
        CHECK(all_piped.returncode == 0);
        auto some_null_task = run_output({"sh", "-c", "ls /proc/$$/fd"}, {.in = Stdio::null, .out = Stdio::pipe});
        auto some_null = co_await std::move(some_null_task);
        CHECK(some_null.out == "0\n1\n2\n");
    }());
    ::close(leaky);
}

TEST_CASE("io_process: communicate moves megabytes both ways without a pipe-full deadlock", "[io][process]") {
    auto workers = GENERATE(1u, 2u);
    weft::run(
        []() -> weft::Task<void> {
            // 10 MB through cat, compared byte for byte.
            std::string ten_mb = test::pattern(3, 10 << 20);
            auto echoed_task = run_output({"cat"}, {.in = Stdio::pipe, .out = Stdio::pipe}, ten_mb);
            auto echoed = co_await std::move(echoed_task);
            CHECK(echoed.returncode == 0);
            CHECK(echoed.out.size() == ten_mb.size());
            CHECK(echoed.out == ten_mb);

            // The child's checksum of what it read equals ours (cksum(1), POSIX CRC).
            auto summed_task = run_output({"cksum"}, {.in = Stdio::pipe, .out = Stdio::pipe}, ten_mb);
            auto summed = co_await std::move(summed_task);
            CHECK(summed.out == std::to_string(posix_cksum(ten_mb)) + " " + std::to_string(ten_mb.size()) + "\n");

            // 3 MB to stderr before the child reads any of its 2 MB of stdin: a parent that
            // wrote stdin first and read afterwards would stall with the child.
            std::string two_mb = test::pattern(5, 2 << 20);
            auto both_task = run_output({"sh", "-c", "head -c 3000000 /dev/zero >&2; cat"},
                                        {.in = Stdio::pipe, .out = Stdio::pipe, .err = Stdio::pipe}, two_mb);
            auto both = co_await std::move(both_task);
            CHECK(both.returncode == 0);
            CHECK(both.out == two_mb);
            CHECK(both.err == std::string(3000000, '\0'));

            // A child that exits without reading its input: the BrokenPipe is ignored.
            auto unread_task = run_output({"sh", "-c", "echo done; exit 3"}, {.in = Stdio::pipe, .out = Stdio::pipe},
                                          test::pattern(7, 1 << 20));
            auto unread = co_await std::move(unread_task);
            CHECK(unread.returncode == 3);
            CHECK(unread.out == "done\n");
        }(),
        {.workers = workers});
}

TEST_CASE("io_process: the pipes are weft streams, merge, null and inherit", "[io][process]") {
    weft::run([]() -> weft::Task<void> {
        auto cat = weft::process::spawn({"cat"}, {.in = Stdio::pipe, .out = Stdio::pipe});
        co_await cat.in().write_all("hello\n");
        char buf[16];
        std::size_t n = co_await cat.out().read_exact(buf, 6);
        CHECK(std::string(buf, n) == "hello\n");
        cat.in().close();  // end of input: cat exits, its stdout ends
        std::size_t end = co_await cat.out().read(buf, sizeof buf);
        CHECK(end == 0);
        int status = co_await cat.wait();
        CHECK(status == 0);
        CHECK_THROWS_AS(cat.err(), weft::UsageError);  // not Stdio::pipe

        // Line by line through the StreamReader that sockets use (borrowing the child's stdout).
        auto lines = weft::process::spawn({"printf", "first\\nsecond\\n"}, {.out = Stdio::pipe});
        weft::net::StreamReader<weft::net::PipeReader&> reader(lines.out());
        std::optional<std::string> first = co_await reader.read_line();
        CHECK((first && *first == "first"));
        std::optional<std::string> second = co_await reader.read_line();
        CHECK((second && *second == "second"));
        std::optional<std::string> after = co_await reader.read_line();
        CHECK_FALSE(after.has_value());
        int printed = co_await lines.wait();
        CHECK(printed == 0);

        auto merged_task =
            run_output({"sh", "-c", "echo out; echo err >&2; echo out2"}, {.out = Stdio::pipe, .err = Stdio::merge});

        auto merged = co_await std::move(merged_task);
        CHECK(merged.out == "out\nerr\nout2\n");
        CHECK(merged.err.empty());

        auto silenced_task =
            run_output({"sh", "-c", "echo out; echo err >&2"}, {.out = Stdio::null, .err = Stdio::pipe});

        auto silenced = co_await std::move(silenced_task);
        CHECK(silenced.out.empty());
        CHECK(silenced.err == "err\n");

        // stdin from /dev/null reads nothing; communicate() without pipes just waits.
        auto empty_task = run_output({"wc", "-c"}, {.in = Stdio::null, .out = Stdio::pipe});
        auto empty = co_await std::move(empty_task);
        CHECK(empty.out == "0\n");
        auto quiet_task = run_output({"/bin/true"}, {});
        auto quiet = co_await std::move(quiet_task);
        CHECK(quiet.returncode == 0);
        CHECK(quiet.out.empty());

        auto no_stdin = weft::process::spawn({"/bin/true"});
        bool refused = co_await test::throws<weft::UsageError>(no_stdin.communicate("input"));
        CHECK(refused);
        co_await no_stdin.wait();
    }());
}

TEST_CASE("io_process: env replaces the environment, cwd and PATH are honoured", "[io][process]") {
    char dir_template[] = "/tmp/weft_process_XXXXXX";
    std::string dir = ::mkdtemp(dir_template);
    std::string script = dir + "/weft-hello";
    std::ofstream(script) << "#!/bin/sh\necho \"hello from $PWD\"\n";
    ::chmod(script.c_str(), 0755);

    weft::run([](std::string dir) -> weft::Task<void> {
        auto env_task = run_output(
            {"/usr/bin/env"},
            {.out = Stdio::pipe, .env = std::map<std::string, std::string>{{"ONE", "1"}, {"TWO", "two words"}}});
        auto env = co_await std::move(env_task);
        CHECK(env.out == "ONE=1\nTWO=two words\n");

        auto in_dir_task =
            run_output({"sh", "-c", "pwd; echo \"$WEFT_X\""}, {.out = Stdio::pipe,
                                                               .env =
                                                                   [] {
                                                                       auto e = weft::process::current_environment();
                                                                       e["WEFT_X"] = "extended";
                                                                       return e;
                                                                   }(),
                                                               .cwd = dir});

        auto in_dir = co_await std::move(in_dir_task);
        CHECK(in_dir.out == dir + "\nextended\n");

        // A bare name is searched in the child's PATH (Options::env) when it sets one.
        auto found_task = run_output(
            {"weft-hello"}, {.out = Stdio::pipe, .env = std::map<std::string, std::string>{{"PATH", dir}}, .cwd = "/"});
        auto found = co_await std::move(found_task);
        CHECK(found.out == "hello from /\n");
        // And a relative path is relative to cwd.
        auto relative_task = run_output({"./weft-hello"}, {.out = Stdio::pipe, .cwd = dir});
        auto relative = co_await std::move(relative_task);
        CHECK(relative.out == "hello from " + dir + "\n");
    }(dir));
    ::unlink(script.c_str());
    ::rmdir(dir.c_str());
}

TEST_CASE("io_process: a cancelled wait kills nothing and a later wait gets the status", "[io][process]") {
    auto workers = GENERATE(1u, 2u);
    auto yields = GENERATE(0, 1, 5);
    weft::run(
        [](int yields) -> weft::Task<void> {
            auto cat = weft::process::spawn({"cat"}, {.in = Stdio::pipe, .out = Stdio::pipe});
            auto waiter = weft::spawn(cat.wait());
            for (int i = 0; i < yields; ++i) co_await weft::yield_now();
            waiter.cancel();
            bool cancelled = co_await test::throws<weft::CancelledError>(std::move(waiter));
            CHECK(cancelled);
            // Still running: it answers.
            CHECK_FALSE(cat.returncode().has_value());
            co_await cat.in().write_all("ping\n");
            char buf[5];
            co_await cat.out().read_exact(buf, 5);
            CHECK(std::string(buf, 5) == "ping\n");
            // Several waiters at once, on any worker, all get the status.
            auto first = weft::spawn(cat.wait());
            auto second = weft::spawn(cat.wait());
            cat.in().close();
            int status = co_await cat.wait();
            int status1 = co_await first;
            int status2 = co_await second;
            CHECK(status == 0);
            CHECK(status1 == 0);
            CHECK(status2 == 0);
        }(yields),
        {.workers = workers});
}

TEST_CASE("io_process: wait_for(wait(), ...) times out and leaves the child running", "[io][process]") {
    weft::run(
        []() -> weft::Task<void> {
            auto cat = weft::process::spawn({"cat"}, {.in = Stdio::pipe});
            // The paused clock jumps to the deadline: cat runs until its stdin closes.
            bool timed_out = co_await test::throws<weft::TimeoutError>(weft::wait_for(cat.wait(), 1h));
            CHECK(timed_out);
            CHECK_FALSE(cat.returncode().has_value());
            cat.in().close();
            int status = co_await cat.wait();
            CHECK(status == 0);
        }(),
        test::paused_clock());
}

TEST_CASE("io_process: kill, terminate and send_signal, and nothing once it exited", "[io][process]") {
    weft::run([]() -> weft::Task<void> {
        auto cat = weft::process::spawn({"cat"}, {.in = Stdio::pipe});
        CHECK_THROWS_AS(cat.send_signal(1000), weft::UsageError);
        CHECK(cat.send_signal(0));  // still there
        CHECK(cat.terminate());
        int status = co_await cat.wait();
        CHECK(status == -SIGTERM);
        // Exited and reaped: its pid may belong to someone else now; nothing is sent.
        CHECK_FALSE(cat.kill());
        CHECK_FALSE(cat.send_signal(SIGUSR1));

        auto sleeper = weft::process::spawn({"sh", "-c", "read x"}, {.in = Stdio::pipe});
        CHECK(sleeper.kill());
        int killed = co_await sleeper.wait();
        CHECK(killed == -SIGKILL);

        // A child that exited but was not reaped yet (waitid WNOWAIT blocks until it is a
        // zombie and leaves it so): send_signal reaps it and sends nothing.
        auto done = weft::process::spawn({"/bin/true"});
        siginfo_t info{};
        ::waitid(P_PID, static_cast<id_t>(done.pid()), &info, WEXITED | WNOWAIT);
        CHECK_FALSE(done.send_signal(SIGTERM));
        CHECK(done.returncode() == 0);
    }());
}

TEST_CASE("io_process: 200 concurrent processes on 2 workers are all reaped with exact statuses", "[io][process]") {
    test::raise_fd_limit();
    weft::run(
        []() -> weft::Task<void> {
            std::vector<weft::JoinHandle<int>> handles;
            for (int i = 0; i < 200; ++i)
                handles.push_back(weft::spawn(run_status({"sh", "-c", "exit " + std::to_string(i)})));
            int mismatches = 0;
            for (int i = 0; i < 200; ++i) {
                int status = co_await handles[static_cast<std::size_t>(i)];
                if (status != i) ++mismatches;
            }
            CHECK(mismatches == 0);
        }(),
        {.workers = 2});
    CHECK_FALSE(has_children());
}

TEST_CASE("io_process: a Process dropped before its child exited still gets the child reaped", "[io][process]") {
    std::size_t reaped_before = weft::process::detail::wait_orphans_reaped();
    pid_t pid = 0;
    weft::run([](pid_t& pid) -> weft::Task<void> {
        weft::net::PipeWriter stdin_of_cat;
        {
            auto cat = weft::process::spawn({"cat"}, {.in = Stdio::pipe, .out = Stdio::null});
            pid = cat.pid();
            stdin_of_cat = std::move(cat.in());  // keeps cat running past the drop
        }  // dropped while running, without wait()
        CHECK(is_our_child(pid));
        co_await stdin_of_cat.write_all("unread\n");
        stdin_of_cat.close();  // now cat exits, with nobody in weft waiting for it
    }(pid));
    std::size_t reaped_after = weft::process::detail::wait_orphans_reaped();
    CHECK(reaped_after == reaped_before + 1);
    CHECK_FALSE(is_our_child(pid));  // reaped, not a zombie

    // Outside any runtime too: spawn, drop while a copy of its stdin keeps it running, close.
    {
        auto cat = weft::process::spawn({"cat"}, {.in = Stdio::pipe});
        pid = cat.pid();
        int stdin_copy = ::dup(cat.in().native_handle());
        {
            Process dropped = std::move(cat);
        }
        CHECK(is_our_child(pid));
        ::close(stdin_copy);
    }
    std::size_t reaped_last = weft::process::detail::wait_orphans_reaped();
    CHECK(reaped_last == reaped_after + 1);
    CHECK_FALSE(is_our_child(pid));
    CHECK_FALSE(has_children());
}

TEST_CASE("io_process: the child starts with no signal blocked even if the spawning thread blocks some",
          "[io][process]") {
    sigset_t pipe_only, previous;
    ::sigemptyset(&pipe_only);
    ::sigaddset(&pipe_only, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous);
    weft::run([]() -> weft::Task<void> {
        // Each worker that wrote to a pipe blocks SIGPIPE on itself; a child must not inherit it.
        auto out_task = run_output({"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}, {.out = Stdio::pipe});
        auto out = co_await std::move(out_task);
        CHECK_THAT(out.out, Catch::Contains("SigBlk:\t0000000000000000"));
    }());
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}
