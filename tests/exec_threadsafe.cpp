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
