// co_await weft::yield_now(): on one worker, tasks that yield take turns in a fixed
// round-robin order; on many workers every yield still resumes exactly once; outside a
// task it throws UsageError.
#include <catch2/catch.hpp>

#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "support/foreign_coroutine.hpp"
#include "support/scaled.hpp"

namespace {

// One worker runs one task at a time, so the log needs no lock.
weft::Task<void> take_turns(char name, int turns, std::string* log) {
    for (int i = 0; i < turns; ++i) {
        log->push_back(name);
        co_await weft::yield_now();
    }
}

weft::Task<std::string> interleave(std::string names, int turns) {
    std::string log;
    std::vector<weft::JoinHandle<void>> handles;
    for (char name : names) handles.push_back(weft::spawn(take_turns(name, turns, &log)));
    for (auto& handle : handles) co_await handle;
    co_return log;
}

// The spinner can only finish if yield_now lets the setter run on the same worker.
weft::Task<void> set_after_yields(std::atomic<bool>* flag) {
    co_await weft::yield_now();
    co_await weft::yield_now();
    flag->store(true);
}

weft::Task<int> spin_until_set() {
    std::atomic<bool> flag{false};
    auto setter = weft::spawn(set_after_yields(&flag));
    int spins = 0;
    while (!flag.load()) {
        ++spins;
        co_await weft::yield_now();
    }
    co_await setter;
    co_return spins;
}

weft::Task<void> yield_and_count(int yields, std::atomic<std::int64_t>* resumed) {
    for (int i = 0; i < yields; ++i) {
        co_await weft::yield_now();
        resumed->fetch_add(1, std::memory_order_relaxed);
    }
}

weft::Task<void> many_yielders(int tasks, int yields, std::atomic<std::int64_t>* resumed) {
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(yield_and_count(yields, resumed)));
    for (auto& handle : handles) co_await handle;
}

test::ForeignCoroutine yield_outside_weft(bool* refused) {
    try {
        co_await weft::yield_now();
    } catch (const weft::UsageError&) {
        *refused = true;
    }
}

}  // namespace

TEST_CASE("with one worker, tasks that yield alternate in a fixed order", "[yield]") {
    SECTION("two tasks") {
        const int turns = 50;
        std::string log = weft::run(interleave("ab", turns), {.workers = 1});
        REQUIRE(log.size() == 2 * turns);
        // Whichever ran first, they strictly alternate from then on.
        const std::string round = log.substr(0, 2);
        REQUIRE((round == "ab" || round == "ba"));
        std::string expected;
        for (int i = 0; i < turns; ++i) expected += round;
        REQUIRE(log == expected);
    }
    SECTION("five tasks keep their round-robin order") {
        const int turns = 40;
        std::string log = weft::run(interleave("abcde", turns), {.workers = 1});
        REQUIRE(log.size() == 5 * turns);
        const std::string round = log.substr(0, 5);
        std::string sorted = round;
        std::sort(sorted.begin(), sorted.end());
        REQUIRE(sorted == "abcde");  // every task once per round
        std::string expected;
        for (int i = 0; i < turns; ++i) expected += round;
        REQUIRE(log == expected);
    }
}

TEST_CASE("yield_now lets the other tasks of a single worker run", "[yield]") {
    // The setter yields twice; the spinner sees the flag on its third turn.
    REQUIRE(weft::run(spin_until_set(), {.workers = 1}) == 3);
}

TEST_CASE("every yield resumes its task exactly once, on any number of workers", "[yield]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const int tasks = 1'000, yields = test::scaled(200, 50);
    CAPTURE(workers);
    for (int round = 0; round < 3; ++round) {
        std::atomic<std::int64_t> resumed{0};
        weft::run(many_yielders(tasks, yields, &resumed), {.workers = workers});
        REQUIRE(resumed.load() == std::int64_t{tasks} * yields);
    }
}

TEST_CASE("yield_now outside a weft task throws UsageError", "[yield][usage]") {
    bool refused = false;
    auto coroutine = yield_outside_weft(&refused);
    REQUIRE(coroutine.done());
    REQUIRE(refused);
}
