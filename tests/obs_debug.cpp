// Debug mode (RuntimeOptions::debug, WEFT_DEBUG=1): a resume that blocks its loop is logged
// with the task's id, name and spawn location, by the resume itself when it ends and by the
// watchdog while it lasts; tasks alive at shutdown are listed; SIGUSR1 logs the dump.
//
// The blocking call is the subject here (std::this_thread::sleep_for inside a task, 300 ms
// against a 20 ms threshold): the tests only assert that it was logged, and name whom.
#include <catch2/catch.hpp>

#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/task_dump.hpp>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "support/log_capture.hpp"

using namespace std::chrono_literals;

namespace {

weft::RuntimeOptions debug_options() {
    return weft::RuntimeOptions{.workers = 2, .name = "dbg", .debug = true, .slow_resume = 20ms};
}

bool logged(const test::LogCapture& log, std::initializer_list<std::string_view> words) {
    for (const auto& line : log.lines()) {
        bool all = true;
        for (auto word : words) all = all && line.find(word) != std::string::npos;
        if (all) return true;
    }
    return false;
}

weft::Task<void> blocker() {
    std::this_thread::sleep_for(300ms);  // the blocking call debug mode must catch
    co_return;
}

}  // namespace

TEST_CASE("obs_debug: a resume that blocks its loop is logged with the task's name and spawn location",
          "[obs][debug]") {
    test::LogCapture log;
    {
        weft::Runtime rt(debug_options());
        weft::block_on(rt, []() -> weft::Task<void> {
            auto handle = weft::spawn(blocker(), "sleepy-blocker");
            co_await handle;
        }());
    }
    INFO([&] {
        std::string all;
        for (auto& line : log.lines()) all += line + "\n";
        return all;
    }());
    // When the resume ended...
    CHECK(logged(log, {"weft debug: task", "'sleepy-blocker'", "obs_debug.cpp:", "without suspending"}));
    // ...and while it lasted (the watchdog, from its own thread).
    CHECK(logged(log, {"watchdog", "'sleepy-blocker'", "obs_debug.cpp:", "a blocking call?"}));
}

TEST_CASE("obs_debug: a task that never blocks long is not logged", "[obs][debug]") {
    test::LogCapture log;
    {
        weft::Runtime rt(weft::RuntimeOptions{.workers = 2, .name = "dbg", .debug = true, .slow_resume = 10s});
        weft::block_on(rt, []() -> weft::Task<void> {
            for (int i = 0; i < 100; ++i) co_await weft::spawn([]() -> weft::Task<void> { co_return; }(), "quick");
        }());
    }
    CHECK_FALSE(logged(log, {"without suspending"}));
    CHECK_FALSE(logged(log, {"watchdog"}));
}

TEST_CASE("obs_debug: tasks alive at shutdown are listed", "[obs][debug]") {
    test::LogCapture log;
    {
        weft::Runtime rt(debug_options());
        auto handle = rt.spawn([]() -> weft::Task<void> { co_await weft::sleep(1h); }(), "left-asleep");
        handle.detach();
        weft::RuntimeDump dump;
        for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
            dump = rt.dump();
            if (!dump.tasks.empty() && dump.tasks[0].state == "suspended") break;
            std::this_thread::yield();
        }
        REQUIRE(dump.tasks.size() == 1);
    }
    CHECK(logged(log, {"shutting down with 1 task(s) alive", "left-asleep", "sleep"}));
}

TEST_CASE("obs_debug: WEFT_DEBUG=1 turns debug mode on", "[obs][debug]") {
    ::setenv("WEFT_DEBUG", "1", 1);
    weft::Runtime rt({.workers = 1});
    ::unsetenv("WEFT_DEBUG");
    CHECK_NOTHROW(rt.dump());  // the registry came with it
}

TEST_CASE("obs_debug: SIGUSR1 writes the tree to the log", "[obs][debug]") {
    test::LogCapture log;
    {
        weft::Runtime rt(weft::RuntimeOptions{.workers = 1, .name = "usr1", .task_registry = true});
        auto handle = rt.spawn([]() -> weft::Task<void> { co_await weft::sleep(1h); }(), "signalled");
        ::raise(SIGUSR1);
        // The inspector looks at its next tick (100 ms): wait for the line, with a deadline.
        for (auto deadline = std::chrono::steady_clock::now() + 20s;
             std::chrono::steady_clock::now() < deadline && !logged(log, {"SIGUSR1", "'signalled'"});)
            std::this_thread::yield();
        handle.cancel();
    }
    CHECK(logged(log, {"SIGUSR1", "runtime 'usr1'", "'signalled'"}));
    // The last inspector put the default action back.
    struct sigaction current{};
    ::sigaction(SIGUSR1, nullptr, &current);
    CHECK(current.sa_handler == SIG_DFL);
}
