// weft::Runtime, weft::run and weft::block_on from plain threads, and the calls that can
// never work (UsageError / RuntimeShutDown) with no leak when they are refused.
#include <catch2/catch.hpp>

#include <sched.h>

#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/counted.hpp"
#include "support/scaled.hpp"

namespace {

struct QuotaExceeded : std::runtime_error {
    QuotaExceeded(const std::string& user, int limit)
        : std::runtime_error("quota exceeded"), user(user), limit(limit) {}
    std::string user;
    int limit;
};

weft::Task<int> value_of(int value) { co_return value; }

weft::Task<int> over_quota(std::string user, int limit) {
    if (limit >= 0) throw QuotaExceeded(user, limit);
    co_return 0;
}

weft::Task<void> nothing() { co_return; }

weft::Task<void> holds(test::Counted) { co_return; }

weft::Task<std::uint64_t> spawn_and_sum(int count) {
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(value_of(i)));
    std::uint64_t sum = 0;
    for (auto& handle : handles) sum += static_cast<std::uint64_t>(co_await handle);
    co_return sum;
}

// block_on on a worker of the runtime it would block: refused, and the Task it was given
// is freed.
weft::Task<bool> block_on_own_worker(weft::Runtime* runtime, test::LifeCounter* counter) {
    try {
        weft::block_on(*runtime, holds(test::Counted(*counter)));
    } catch (const weft::UsageError&) {
        co_return true;
    }
    co_return false;
}

// asyncio.run inside a running loop raises RuntimeError: weft::run inside a task, and
// block_on of another runtime from a worker (either would block this worker), are refused
// and free the Task they were given.
weft::Task<int> run_inside_a_task(test::LifeCounter* counter) {
    int refused = 0;
    try {
        weft::run(holds(test::Counted(*counter)));
    } catch (const weft::UsageError&) {
        ++refused;
    }
    try {
        weft::run(value_of(1), {.workers = 1});
    } catch (const weft::UsageError&) {
        ++refused;
    }
    weft::Runtime other({.workers = 1});  // a runtime may be built here; blocking on it may not
    try {
        weft::block_on(other, holds(test::Counted(*counter)));
    } catch (const weft::UsageError&) {
        ++refused;
    }
    co_return refused;
}

weft::Task<bool> shutdown_from_own_worker(weft::Runtime* runtime) {
    try {
        runtime->shutdown();
    } catch (const weft::UsageError&) {
        co_return true;
    }
    co_return false;
}

}  // namespace

TEST_CASE("weft::run returns the task's value and rethrows its exception", "[runtime]") {
    REQUIRE(weft::run(value_of(42)) == 42);
    weft::run(nothing());
    try {
        weft::run(over_quota("ada", 3), {.workers = 2});
        FAIL("no exception");
    } catch (const QuotaExceeded& e) {
        REQUIRE(e.user == "ada");
        REQUIRE(e.limit == 3);
    }
}

TEST_CASE("the runtime has the number of workers asked for", "[runtime]") {
    for (unsigned workers : {1u, 3u}) {
        weft::Runtime runtime({.workers = workers});
        REQUIRE(runtime.worker_count() == workers);
    }
    cpu_set_t allowed;  // workers = 0: one per CPU this process may use
    REQUIRE(::sched_getaffinity(0, sizeof allowed, &allowed) == 0);
    weft::Runtime per_cpu;
    REQUIRE(per_cpu.worker_count() == static_cast<unsigned>(CPU_COUNT(&allowed)));
}

namespace {

// Threads of this process whose name (as /proc shows it) is `name`.
int threads_named(const std::string& name) {
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(entry.path() / "comm");
        std::string line;
        if (std::getline(comm, line) && line == name) ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("a runtime's constructor returns once every worker runs", "[runtime]") {
    // A worker names its thread as it starts, before it reports ready.
    for (int round = 0; round < 20; ++round) {
        const std::string name = "ready" + std::to_string(round);
        weft::Runtime runtime({.workers = 3, .name = name});
        for (int index = 0; index < 3; ++index) CHECK(threads_named(name + "-" + std::to_string(index)) == 1);
    }
}

TEST_CASE("one worker runs a task that spawns and joins many", "[runtime]") {
    const int count = test::scaled(50'000, 5'000);
    const auto expected = static_cast<std::uint64_t>(count) * (count - 1) / 2;
    REQUIRE(weft::run(spawn_and_sum(count), {.workers = 1}) == expected);
}

TEST_CASE("block_on from a plain thread, many times on one runtime", "[runtime]") {
    const unsigned workers = GENERATE(1u, 4u);
    weft::Runtime runtime({.workers = workers});
    std::uint64_t sum = 0;
    for (int i = 0; i < 1'000; ++i) sum += static_cast<std::uint64_t>(weft::block_on(runtime, value_of(i)));
    REQUIRE(sum == 1'000u * 999u / 2);
    REQUIRE_THROWS_AS(weft::block_on(runtime, over_quota("bob", 1)), QuotaExceeded);
    REQUIRE(weft::block_on(runtime, value_of(7)) == 7);  // still usable after a failure
}

TEST_CASE("runtimes start and stop quickly, again and again", "[runtime]") {
    // Shutdown races the workers' parking; every round must join cleanly.
    for (int round = 0; round < 50; ++round) {
        weft::Runtime idle({.workers = 4});
    }
    for (int round = 0; round < 50; ++round) {
        weft::Runtime runtime({.workers = 4});
        REQUIRE(weft::block_on(runtime, value_of(round)) == round);
    }
}

TEST_CASE("block_on on one of the runtime's own workers throws UsageError", "[runtime][usage]") {
    test::LifeCounter counter;
    {
        weft::Runtime runtime({.workers = 2});
        REQUIRE(weft::block_on(runtime, block_on_own_worker(&runtime, &counter)));
    }
    REQUIRE(counter.live() == 0);
}

TEST_CASE("weft::run (or block_on) inside a running task throws UsageError", "[runtime][usage]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    test::LifeCounter counter;
    REQUIRE(weft::run(run_inside_a_task(&counter), {.workers = workers}) == 3);
    REQUIRE(counter.live() == 0);
}

TEST_CASE("Runtime::shutdown from one of its own workers throws UsageError", "[runtime][usage]") {
    weft::Runtime runtime({.workers = 1});
    REQUIRE(weft::block_on(runtime, shutdown_from_own_worker(&runtime)));
    REQUIRE(weft::block_on(runtime, value_of(3)) == 3);  // and the runtime still works
}

TEST_CASE("weft::spawn outside a runtime throws UsageError and frees the task", "[runtime][usage]") {
    test::LifeCounter counter;
    REQUIRE_THROWS_AS(weft::spawn(holds(test::Counted(counter))), weft::UsageError);
    REQUIRE(counter.live() == 0);

    bool refused_on_plain_thread = false;
    std::thread other([&] {
        try {
            weft::spawn(holds(test::Counted(counter))).detach();
        } catch (const weft::UsageError&) {
            refused_on_plain_thread = true;
        }
    });
    other.join();
    REQUIRE(refused_on_plain_thread);
    REQUIRE(counter.live() == 0);
}

TEST_CASE("after shutdown, spawn and block_on throw RuntimeShutDown and free the task", "[runtime]") {
    test::LifeCounter counter;
    weft::Runtime runtime({.workers = 2});
    REQUIRE(weft::block_on(runtime, value_of(1)) == 1);
    runtime.shutdown();
    runtime.shutdown();  // idempotent
    REQUIRE_THROWS_AS(runtime.spawn(holds(test::Counted(counter))), weft::RuntimeShutDown);
    REQUIRE_THROWS_AS(weft::block_on(runtime, holds(test::Counted(counter))), weft::RuntimeShutDown);
    REQUIRE(counter.constructed() > 0);
    REQUIRE(counter.live() == 0);
}
