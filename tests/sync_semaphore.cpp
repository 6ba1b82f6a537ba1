// weft::Semaphore / BoundedSemaphore: asyncio's semantics step by step on one worker (FIFO
// grants, no barging, release(n), the bound, cancellation never leaking a permit), then the
// permit limit under contention on several workers.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "support/clock.hpp"
#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<void> acquire_append(weft::Semaphore& sem, char name, std::string& log) {
    auto permit = co_await sem.acquire();
    log.push_back(name);
    co_await weft::yield_now();
}

weft::Task<void> counts_and_locked() {
    weft::Semaphore sem(2);
    CHECK(sem.value() == 2);
    CHECK_FALSE(sem.locked());
    auto a = co_await sem.acquire();
    CHECK(sem.value() == 1);
    CHECK(sem.try_acquire());
    CHECK(sem.value() == 0);
    CHECK(sem.locked());
    CHECK_FALSE(sem.try_acquire());
    sem.release();
    a.release();
    CHECK(sem.value() == 2);
    CHECK_THROWS_AS(a.release(), weft::UsageError);  // the guard no longer holds one
}

weft::Task<void> hold_until(weft::Semaphore& sem, char name, std::string& log, weft::Event& done) {
    auto permit = co_await sem.acquire();
    log.push_back(name);
    co_await done.wait();
}

weft::Task<void> fifo_and_release_n() {
    weft::Semaphore sem(0);
    weft::Event done;
    std::string log;
    std::vector<weft::JoinHandle<void>> tasks;
    for (char name : std::string("abcd")) {
        tasks.push_back(weft::spawn(hold_until(sem, name, log, done)));
        co_await weft::testing::until_waiters(sem, tasks.size());  // arrival order a, b, c, d
    }
    sem.release(2);  // granted to a and b, the oldest
    CHECK(sem.value() == 0);
    CHECK(sem.locked());
    CHECK_FALSE(sem.try_acquire());  // released permits went to the waiters, not to us
    co_await test::settle();
    std::string granted = log;
    std::sort(granted.begin(), granted.end());  // they may run in either order
    CHECK(granted == "ab");
    CHECK(weft::testing::waiters(sem) == 2);
    sem.release();
    co_await test::settle();
    CHECK(log.size() == 3);
    CHECK(log.back() == 'c');
    done.set();  // a, b, c give their permits back: the first goes to d
    for (auto& task : tasks) co_await task;
    CHECK(log.back() == 'd');
    CHECK(sem.value() == 3);  // 3 released by us; 4 taken and 4 given back
}

weft::Task<void> bounded_over_release() {
    weft::BoundedSemaphore sem(2);
    CHECK_THROWS_AS(sem.release(), weft::UsageError);
    auto permit = co_await sem.acquire();
    sem.release();  // permit's, by hand
    CHECK(sem.value() == 2);
    CHECK_THROWS_WITH(sem.release(), Catch::Contains("released too many times"));
    permit.detach();  // it was already given back
    // release(n) that would pass the bound changes nothing (asyncio's release() raises first).
    auto one = co_await sem.acquire();
    CHECK(sem.value() == 1);
    CHECK_THROWS_AS(sem.release(2), weft::UsageError);
    CHECK(sem.value() == 1);
    sem.release(1);
    one.detach();
    CHECK(sem.value() == 2);
    weft::Semaphore unbounded(0);
    CHECK_THROWS_AS(unbounded.release(std::size_t(-1)), weft::UsageError);  // would overflow: nothing added
    CHECK(unbounded.value() == 0);
    unbounded.release(5);
    CHECK(unbounded.value() == 5);
}

weft::Task<void> cancelled_waiter_leaks_nothing() {
    weft::Semaphore sem(1);
    std::string log;
    auto held = co_await sem.acquire();
    auto a = weft::spawn(acquire_append(sem, 'a', log));
    co_await weft::testing::until_waiters(sem, 1);
    auto b = weft::spawn(acquire_append(sem, 'b', log));
    co_await weft::testing::until_waiters(sem, 2);
    a.cancel();
    co_await test::expect_cancelled(std::move(a));
    CHECK(sem.value() == 0);
    held.release();  // to b
    co_await b;
    CHECK(log == "b");
    CHECK(sem.value() == 1);
    CHECK_FALSE(sem.locked());
}

weft::Task<void> acquire_then_await(weft::Semaphore& sem, std::string& log) {
    auto permit = co_await sem.acquire();
    log += "granted ";
    co_await weft::yield_now();  // cancellation delivered here; the guard releases
    log += "never";
}

weft::Task<void> cancelled_at_grant() {
    weft::Semaphore sem(0);
    std::string log;
    auto waiter = weft::spawn(acquire_then_await(sem, log));
    co_await weft::testing::until_waiters(sem, 1);
    sem.release();   // granted to the waiter...
    waiter.cancel(); // ...which is cancelled before it runs: the cancel wins (asyncio)
    co_await test::expect_cancelled(std::move(waiter));
    CHECK(log.empty());       // its acquire() threw
    CHECK(sem.value() == 1);  // the permit came back
}

weft::Task<void> timeout_leaves_no_waiter() {
    weft::Semaphore sem(0);
    bool timed_out = false;
    try {
        auto deadline = weft::timeout(10ms);
        auto permit = co_await sem.acquire();
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(weft::testing::waiters(sem) == 0);
    sem.release();
    CHECK(sem.value() == 1);
}

struct Concurrency {
    std::atomic<int> inside{0};
    std::atomic<int> max_inside{0};
    std::atomic<std::uint64_t> entries{0};
};

weft::Task<void> enter_often(weft::Semaphore& sem, Concurrency& c, int times) {
    for (int i = 0; i < times; ++i) {
        auto permit = co_await sem.acquire();
        int now = c.inside.fetch_add(1) + 1;
        int seen = c.max_inside.load();
        while (now > seen && !c.max_inside.compare_exchange_weak(seen, now)) {
        }
        if (i % 3 == 0) co_await weft::yield_now();
        c.inside.fetch_sub(1);
        c.entries.fetch_add(1, std::memory_order_relaxed);
    }
}

// On one worker the holders yield while inside, so all `permits` are held at once (exactly);
// on several, threads decide how many overlap: only the bound is exact.
weft::Task<void> permits_never_exceeded(int permits, int tasks, int times, unsigned workers) {
    weft::Semaphore sem(static_cast<std::size_t>(permits));
    Concurrency c;
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(enter_often(sem, c, times)));
    for (auto& handle : handles) co_await handle;
    CHECK(c.max_inside.load() <= permits);
    if (workers == 1) CHECK(c.max_inside.load() == permits);
    CHECK(c.entries.load() == std::uint64_t(tasks) * std::uint64_t(times));
    CHECK(sem.value() == std::size_t(permits));
}

}  // namespace

TEST_CASE("Semaphore: value, locked, try_acquire, guards", "[sync][semaphore]") {
    weft::run(counts_and_locked(), test::one_worker());
}

TEST_CASE("Semaphore: release(n) grants the n oldest waiters, nobody barges", "[sync][semaphore]") {
    weft::run(fifo_and_release_n(), test::one_worker());
}

TEST_CASE("BoundedSemaphore: releasing above the initial value throws UsageError", "[sync][semaphore]") {
    weft::run(bounded_over_release(), test::one_worker());
}

TEST_CASE("Semaphore: a cancelled waiter holds no permit", "[sync][semaphore][cancel]") {
    weft::run(cancelled_waiter_leaks_nothing(), test::one_worker());
}

TEST_CASE("Semaphore: a waiter cancelled just after its grant gives the permit back", "[sync][semaphore][cancel]") {
    weft::run(cancelled_at_grant(), test::one_worker());
}

TEST_CASE("Semaphore: a timed-out acquire leaves no waiter behind", "[sync][semaphore][cancel]") {
    weft::run(timeout_leaves_no_waiter(), test::paused_clock());
}

TEST_CASE("Semaphore: concurrency never exceeds the permits", "[sync][semaphore][stress]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const int permits = GENERATE(1, 3);
    weft::run(permits_never_exceeded(permits, test::scaled(200, 40), test::scaled(500, 50), workers),
              test::workers(workers));
}
