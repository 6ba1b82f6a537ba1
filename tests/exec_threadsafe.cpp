// Plain threads talking to a runtime: run_coroutine_threadsafe futures from 8 threads give
// exact sums; exceptions and shutdown reach the future; call_soon_threadsafe runs callbacks
// on the loops.
#include <catch2/catch.hpp>

#include <weft/weft.hpp>

#include <atomic>
#include <cstdint>
#include <future>
#include <latch>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/bridge.hpp"
#include "support/scaled.hpp"

namespace {

weft::Task<std::uint64_t> square_later(std::uint64_t x) {
    co_await weft::yield_now();
    co_return x* x;
}

weft::Task<void> fails() {
    co_await weft::yield_now();
    throw std::invalid_argument("nope");
}

}  // namespace

TEST_CASE("run_coroutine_threadsafe futures from 8 threads give exact sums", "[exec][threadsafe]") {
    const std::uint64_t per_thread = test::scaled<std::uint64_t>(2'000, 300);
    constexpr unsigned kThreads = 8;
    weft::Runtime rt({.workers = 2});
    std::vector<std::uint64_t> sums(kThreads, 0);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<std::future<std::uint64_t>> futures;
            for (std::uint64_t i = 0; i < per_thread; ++i)
                futures.push_back(weft::run_coroutine_threadsafe(rt, square_later(t * per_thread + i)));
            for (auto& future : futures) sums[t] += future.get();
        });
    }
    for (auto& thread : threads) thread.join();
    std::uint64_t total = 0;
    for (auto sum : sums) total += sum;
    const std::uint64_t n = kThreads * per_thread;  // sum of i^2 for i < n
    REQUIRE(total == (n - 1) * n * (2 * n - 1) / 6);
}

TEST_CASE("run_coroutine_threadsafe delivers exceptions and void results", "[exec][threadsafe]") {
    weft::Runtime rt({.workers = 1});
    auto failed = weft::run_coroutine_threadsafe(rt, fails());
    REQUIRE_THROWS_AS(failed.get(), std::invalid_argument);
    auto done = weft::run_coroutine_threadsafe(rt, []() -> weft::Task<void> { co_return; }());
    REQUIRE_NOTHROW(done.get());
}

TEST_CASE("run_coroutine_threadsafe after shutdown throws RuntimeShutDown", "[exec][threadsafe]") {
    weft::Runtime rt({.workers = 1});
    rt.shutdown();
    REQUIRE_THROWS_AS(weft::run_coroutine_threadsafe(rt, square_later(3)), weft::RuntimeShutDown);
}

TEST_CASE("call_soon_threadsafe runs callbacks from plain threads on the loops", "[exec][threadsafe]") {
    constexpr int kThreads = 4;
    constexpr int kCalls = 250;
    weft::Runtime rt({.workers = 2});
    std::latch all_ran{kThreads * kCalls};
    std::atomic<int> on_a_task{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kCalls; ++i) {
                rt.call_soon_threadsafe([&] {
                    try {
                        (void)weft::current_task();  // throws UsageError off a runtime task
                        on_a_task.fetch_add(1);
                    } catch (const weft::UsageError&) {
                    }
                    all_ran.count_down();
                });
            }
        });
    }
    for (auto& thread : threads) thread.join();
    all_ran.wait();
    REQUIRE(on_a_task.load() == kThreads * kCalls);
}

TEST_CASE("call_soon_threadsafe runs one thread's callbacks in the order it called, one at a time",
          "[exec][threadsafe]") {
    // asyncio's call_soon_threadsafe appends to the loop's FIFO: `call_soon_threadsafe(q.put_nowait, i)`
    // hands items over in order, and its callbacks never overlap.
    const int per_thread = test::scaled(20'000, 3'000);
    constexpr int kThreads = 3;
    auto workers = GENERATE(1u, 2u);
    weft::Runtime rt({.workers = workers});
    std::vector<std::vector<int>> seen(kThreads);  // written by the callbacks only: never at once
    std::atomic<int> inside{0};
    std::atomic<int> overlaps{0};
    std::latch all_ran{kThreads * per_thread};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                rt.call_soon_threadsafe([&, t, i] {
                    if (inside.fetch_add(1) != 0) overlaps.fetch_add(1);
                    seen[t].push_back(i);
                    inside.fetch_sub(1);
                    all_ran.count_down();
                });
            }
        });
    }
    for (auto& thread : threads) thread.join();
    all_ran.wait();
    CHECK(overlaps.load() == 0);
    for (int t = 0; t < kThreads; ++t) {
        REQUIRE(seen[t].size() == static_cast<std::size_t>(per_thread));
        int inversions = 0;
        for (int i = 1; i < per_thread; ++i) inversions += seen[t][i] < seen[t][i - 1];
        CHECK(inversions == 0);
    }
}

TEST_CASE("run_coroutine_threadsafe: a task the shutdown cancels leaves RuntimeShutDown in the future",
          "[exec][threadsafe]") {
    // (Its CancelledError is no std::exception: a plain thread's catch (std::exception&) missed it.)
    std::future<void> future;
    std::latch started{1};
    weft::Event never;  // (outlives the runtime, hence the task waiting on it)
    {
        weft::Runtime rt({.workers = 1});
        future = weft::run_coroutine_threadsafe(rt, [](std::latch& started, weft::Event& never) -> weft::Task<void> {
            started.count_down();
            co_await never.wait();
        }(started, never));
        started.wait();
    }  // ~Runtime: shuts down, cancelling the task
    REQUIRE_THROWS_AS(future.get(), weft::RuntimeShutDown);
}
