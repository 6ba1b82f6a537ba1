// weft::spawn and Runtime::spawn under load: a million tasks spawned from many tasks at once,
// fork-join recursion, and plain threads spawning into one runtime concurrently. Every test
// checks an exact total, on 1, 2 and 4 workers.
#include <catch2/catch.hpp>

#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

#include <atomic>
#include <cstdint>
#include <latch>
#include <thread>
#include <utility>
#include <vector>

#include "support/scaled.hpp"

namespace {

using Handles = std::vector<weft::JoinHandle<std::uint64_t>>;

weft::Task<std::uint64_t> identity(std::uint64_t value) { co_return value; }

weft::Task<std::uint64_t> sum_of(Handles handles) {
    std::uint64_t sum = 0;
    for (auto& handle : handles) sum += co_await handle;
    co_return sum;
}

// Spawns `count` tasks returning first, first+1, ... and sums what they return.
weft::Task<std::uint64_t> spawn_range(std::uint64_t first, std::uint64_t count) {
    Handles handles;
    handles.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) handles.push_back(weft::spawn(identity(first + i)));
    co_return co_await sum_of(std::move(handles));
}

weft::Task<std::uint64_t> spawn_from_many(std::uint64_t spawners, std::uint64_t per_spawner) {
    Handles handles;
    for (std::uint64_t s = 0; s < spawners; ++s)
        handles.push_back(weft::spawn(spawn_range(s * per_spawner, per_spawner), "spawner"));
    co_return co_await sum_of(std::move(handles));
}

constexpr std::uint64_t sum_below(std::uint64_t n) { return n * (n - 1) / 2; }

// Fork-join: every node of the recursion is its own spawned task.
weft::Task<std::uint64_t> fib(unsigned n, std::atomic<std::uint64_t>* nodes) {
    nodes->fetch_add(1, std::memory_order_relaxed);
    if (n < 2) co_return n;
    auto left = weft::spawn(fib(n - 1, nodes));
    auto right = weft::spawn(fib(n - 2, nodes));
    std::uint64_t a = co_await left;
    std::uint64_t b = co_await right;
    co_return a + b;
}

constexpr std::uint64_t fib_serial(unsigned n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

// A task spawned from a plain thread that fans out again inside the runtime.
weft::Task<std::uint64_t> fan_out(std::uint64_t value) {
    auto child = weft::spawn(identity(value));
    co_return co_await child;
}

}  // namespace

TEST_CASE("a million tasks spawned from a hundred tasks at once sum exactly", "[spawn]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::uint64_t spawners = 100;
    const std::uint64_t per_spawner = test::scaled<std::uint64_t>(10'000, 2'000);
    const std::uint64_t total = spawners * per_spawner;
    CAPTURE(workers, total);
    REQUIRE(weft::run(spawn_from_many(spawners, per_spawner), {.workers = workers}) == sum_below(total));
}

TEST_CASE("recursive fork-join fib spawns one task per node", "[spawn]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const unsigned n = test::scaled(25u, 20u);
    CAPTURE(workers, n);
    for (int round = 0; round < 2; ++round) {
        std::atomic<std::uint64_t> nodes{0};
        REQUIRE(weft::run(fib(n, &nodes), {.workers = workers}) == fib_serial(n));
        REQUIRE(nodes.load() == 2 * fib_serial(n + 1) - 1);  // 242785 for fib(25)
    }
    if (n == 25) REQUIRE(fib_serial(n) == 75025);
}

TEST_CASE("eight plain threads spawn into one runtime at once", "[spawn][foreign]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    constexpr unsigned kThreads = 8;
    const std::uint64_t per_thread = test::scaled<std::uint64_t>(5'000, 2'000);
    CAPTURE(workers, per_thread);
    weft::Runtime runtime({.workers = workers});

    for (int round = 0; round < 3; ++round) {
        std::latch start(kThreads);
        std::vector<std::uint64_t> handle_sums(kThreads), block_on_sums(kThreads);
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                const std::uint64_t first = t * per_thread;
                start.arrive_and_wait();
                // Spawn everything through Runtime::spawn, then await the handles in one task.
                Handles handles;
                for (std::uint64_t i = 0; i < per_thread; ++i)
                    handles.push_back(runtime.spawn(i % 2 ? identity(first + i) : fan_out(first + i)));
                handle_sums[t] = weft::block_on(runtime, sum_of(std::move(handles)));
                // And one block_on per task: many threads blocked on one runtime at once.
                std::uint64_t sum = 0;
                for (std::uint64_t i = 0; i < per_thread / 10; ++i) sum += weft::block_on(runtime, identity(first + i));
                block_on_sums[t] = sum;
            });
        }
        for (auto& thread : threads) thread.join();

        std::uint64_t handle_total = 0;
        for (unsigned t = 0; t < kThreads; ++t) {
            handle_total += handle_sums[t];
            const std::uint64_t first = t * per_thread, count = per_thread / 10;
            REQUIRE(block_on_sums[t] == count * first + sum_below(count));
        }
        REQUIRE(handle_total == sum_below(kThreads * per_thread));
    }
}

TEST_CASE("spawned tasks may outnumber a local queue many times over", "[spawn]") {
    // One worker: everything spawned beyond the local queue's capacity spills to the
    // injection queue and must still run exactly once.
    const std::uint64_t count = test::scaled<std::uint64_t>(100'000, 10'000);
    REQUIRE(weft::run(spawn_range(0, count), {.workers = 1}) == sum_below(count));
}
