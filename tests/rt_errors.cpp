// A task that fails with nobody awaiting it (detached, or its JoinHandle dropped) is logged
// through spdlog's default logger, naming the task and the exception, and never takes the
// process down. A failure someone awaited is not logged.
#include <catch2/catch.hpp>

#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/log_capture.hpp"
#include "support/scaled.hpp"

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

weft::Task<void> fail_with(std::string what, std::atomic<int>* reached) {
    reached->fetch_add(1);
    if (!what.empty()) throw std::runtime_error(what);
    co_return;
}

weft::Task<void> fail_with_int(std::atomic<int>* reached) {
    reached->fetch_add(1);
    throw 7;
    co_return;
}

// Yields until `count` tasks have reached their throw (they finish on their worker, which
// logs before the runtime can stop).
weft::Task<void> until_reached(const std::atomic<int>* reached, int count) {
    while (reached->load() < count) co_await weft::yield_now();
}

struct Spawned {
    std::uint64_t id = 0;
};

weft::Task<Spawned> detach_failing(std::atomic<int>* reached) {
    auto handle = weft::spawn(fail_with("disk full", reached), "uploader");
    Spawned out{handle.id()};
    handle.detach();
    co_await until_reached(reached, 1);
    co_return out;
}

weft::Task<Spawned> drop_handle_then_fail(std::atomic<int>* reached) {
    Spawned out;
    {
        auto handle = weft::spawn(fail_with("connection reset", reached), "reader");
        out.id = handle.id();
    }  // dropped here, before the task (on one worker) could run
    co_await until_reached(reached, 1);
    co_return out;
}

weft::Task<Spawned> fail_then_drop_handle(std::atomic<int>* reached) {
    auto handle = weft::spawn(fail_with("bad checksum", reached), "verifier");
    Spawned out{handle.id()};
    co_await until_reached(reached, 1);
    while (!handle.is_done()) co_await weft::yield_now();
    handle = {};  // the last reference: the failure is logged right here
    co_return out;
}

weft::Task<bool> await_failure(std::atomic<int>* reached) {
    auto handle = weft::spawn(fail_with("handled", reached), "observed");
    try {
        co_await handle;
    } catch (const std::runtime_error&) {
        co_return true;
    }
    co_return false;
}

weft::Task<void> detach_non_std(std::atomic<int>* reached) {
    weft::spawn(fail_with_int(reached), "thrower").detach();
    co_await until_reached(reached, 1);
}

weft::Task<void> detach_many(int count, std::atomic<int>* reached) {
    for (int i = 0; i < count; ++i)
        weft::spawn(fail_with(i % 2 ? "odd failure" : "", reached), "task-" + std::to_string(i)).detach();
    co_await until_reached(reached, count);
}

}  // namespace

TEST_CASE("a detached task's failure is logged with its id, name and what()", "[errors]") {
    test::LogCapture capture;
    std::atomic<int> reached{0};
    Spawned task = weft::run(detach_failing(&reached), {.workers = 2});
    auto errors = capture.errors();
    REQUIRE(errors.size() == 1);
    const std::string& text = errors[0].text;
    CAPTURE(text);
    REQUIRE(contains(text, "uploader"));
    REQUIRE(contains(text, "disk full"));
    REQUIRE(contains(text, std::to_string(task.id)));
}

TEST_CASE("a failure is logged when the JoinHandle was dropped, before or after it", "[errors]") {
    test::LogCapture capture;
    std::atomic<int> before{0}, after{0};
    Spawned dropped_first = weft::run(drop_handle_then_fail(&before), {.workers = 1});
    Spawned dropped_last = weft::run(fail_then_drop_handle(&after), {.workers = 2});
    auto errors = capture.errors();
    REQUIRE(errors.size() == 2);
    CAPTURE(errors[0].text, errors[1].text);
    REQUIRE(contains(errors[0].text, "reader"));
    REQUIRE(contains(errors[0].text, "connection reset"));
    REQUIRE(contains(errors[0].text, std::to_string(dropped_first.id)));
    REQUIRE(contains(errors[1].text, "verifier"));
    REQUIRE(contains(errors[1].text, "bad checksum"));
    REQUIRE(contains(errors[1].text, std::to_string(dropped_last.id)));
}

TEST_CASE("an awaited failure is not logged", "[errors]") {
    test::LogCapture capture;
    std::atomic<int> reached{0};
    REQUIRE(weft::run(await_failure(&reached), {.workers = 2}));
    REQUIRE(capture.errors().empty());
}

TEST_CASE("a failure with a non-std exception is logged too", "[errors]") {
    test::LogCapture capture;
    std::atomic<int> reached{0};
    weft::run(detach_non_std(&reached), {.workers = 2});
    auto errors = capture.errors();
    REQUIRE(errors.size() == 1);
    CAPTURE(errors[0].text);
    REQUIRE(contains(errors[0].text, "thrower"));
    REQUIRE(contains(errors[0].text, "non-std"));
}

TEST_CASE("many unobserved failures at once: each logged once, the process goes on", "[errors]") {
    const int count = test::scaled(2'000, 400);
    for (unsigned workers : {1u, 4u}) {
        test::LogCapture capture;
        std::atomic<int> reached{0};
        weft::run(detach_many(count, &reached), {.workers = workers});
        auto errors = capture.errors();
        REQUIRE(errors.size() == static_cast<std::size_t>(count / 2));
        std::vector<int> seen(static_cast<std::size_t>(count));
        for (const auto& record : errors) {
            REQUIRE(contains(record.text, "odd failure"));
            auto at = record.text.find("task-");  // the task's name
            REQUIRE(at != std::string::npos);
            int index = std::stoi(record.text.substr(at + 5));
            REQUIRE(index % 2 == 1);
            ++seen[static_cast<std::size_t>(index)];
        }
        for (int i = 1; i < count; i += 2) REQUIRE(seen[static_cast<std::size_t>(i)] == 1);
    }
}
