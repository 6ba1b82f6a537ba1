// weft::RateLimiter: the token bucket's instants on the paused clock (burst, then one token
// every period, exact), FIFO fairness (a big request is not starved, a later one does not
// overtake, try_acquire fails while anyone waits), cancellation (a cancelled head or queued
// waiter takes nothing; the next one goes on at its own instant), misuse, then storms: many
// tasks with random cancellations on the paused clock (exact count of grants over 10 simulated
// seconds) and on 2 workers of real time (every grant counted, never early).
#include <catch2/catch.hpp>

#include <weft/rate_limiter.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/clock.hpp"
#include "support/random.hpp"
#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

// Acquires n tokens and records "<name>@<ms since start>".
weft::Task<void> take(weft::RateLimiter& limiter, std::uint64_t n, std::string name, weft::Clock::time_point start,
                      std::vector<std::string>& log) {
    co_await limiter.acquire(n);
    log.push_back(name + "@" + std::to_string(test::ms_since(start)));
}

weft::Task<void> until_waiting(const weft::RateLimiter& limiter, std::size_t count) {
    while (limiter.waiting() < count) co_await weft::yield_now();
}

weft::Task<void> burst_then_one_per_period() {
    weft::RateLimiter limiter({.rate = 10, .burst = 5});  // 10 per second: one every 100 ms
    const auto start = weft::now();
    std::vector<std::string> log;
    for (int i = 0; i < 8; ++i) co_await take(limiter, 1, std::to_string(i), start, log);
    CHECK(log == std::vector<std::string>{"0@0", "1@0", "2@0", "3@0", "4@0", "5@100", "6@200", "7@300"});
    CHECK(limiter.available() == 0);
    co_await weft::sleep(250ms);  // 2.5 tokens accrue: 2 whole ones
    CHECK(limiter.available() == 2);
    CHECK(limiter.try_acquire(2));
    CHECK_FALSE(limiter.try_acquire(1));  // half a token
    co_await weft::sleep(50ms);
    CHECK(limiter.try_acquire(1));  // the half and 50 ms make one
    co_await weft::sleep(10s);
    CHECK(limiter.available() == 5);  // never above the burst
}

// rate 3 per second: a token every 333.33 ms, counted exactly (no drift over many tokens).
// The k-th token after an empty bucket is due at 1000k/3 ms; the timer wakes at the first
// whole millisecond after it, and what accrued in that fraction is kept (burst 2 leaves room).
weft::Task<void> uneven_rate_is_exact() {
    weft::RateLimiter limiter({.rate = 3, .burst = 2});
    const auto start = weft::now();
    co_await limiter.acquire(2);
    for (std::int64_t k = 1; k <= 30; ++k) {
        co_await limiter.acquire();
        const std::int64_t due_ms = (1000 * k + 2) / 3;  // ceil(1000k / 3)
        CHECK(test::ms_since(start) == due_ms);
    }
    CHECK(test::ms_since(start) == 10'000);
    CHECK(limiter.available() == 0);
}

weft::Task<void> big_request_not_starved_and_nobody_overtakes() {
    weft::RateLimiter limiter({.rate = 10, .burst = 5});
    const auto start = weft::now();
    co_await limiter.acquire(5);  // empty
    std::vector<std::string> log;
    auto big = weft::spawn(take(limiter, 5, "big", start, log));
    co_await until_waiting(limiter, 1);
    auto small1 = weft::spawn(take(limiter, 1, "s1", start, log));
    co_await until_waiting(limiter, 2);  // (a loop of spawns may start them newest first)
    auto small2 = weft::spawn(take(limiter, 1, "s2", start, log));
    co_await until_waiting(limiter, 3);
    co_await weft::sleep(300ms);  // 3 tokens are there, but `big` is first in line
    CHECK(log.empty());
    CHECK_FALSE(limiter.try_acquire(1));  // a newcomer does not overtake the line either
    co_await big;
    co_await small1;
    co_await small2;
    CHECK(log == std::vector<std::string>{"big@500", "s1@600", "s2@700"});
    CHECK(limiter.waiting() == 0);
}

weft::Task<void> cancelled_head_takes_nothing() {
    weft::RateLimiter limiter({.rate = 10, .burst = 5});
    const auto start = weft::now();
    co_await limiter.acquire(5);
    std::vector<std::string> log;
    auto head = weft::spawn(take(limiter, 3, "head", start, log));  // due at 300 ms
    co_await until_waiting(limiter, 1);
    auto next = weft::spawn(take(limiter, 1, "next", start, log));
    co_await until_waiting(limiter, 2);
    co_await weft::sleep(100ms);
    CHECK(log.empty());
    head.cancel();  // in its sleep, holding the turn: it gives it up having taken nothing
    co_await test::expect_cancelled(std::move(head));
    co_await next;  // the token that accrued by 100 ms is there
    CHECK(log == std::vector<std::string>{"next@100"});
    CHECK(limiter.waiting() == 0);
    co_await weft::sleep(400ms);
    CHECK(limiter.available() == 4);  // 0 at 100 ms, then 4 more: the head took none
}

weft::Task<void> cancelled_queued_waiter_takes_nothing() {
    weft::RateLimiter limiter({.rate = 10, .burst = 5});
    const auto start = weft::now();
    co_await limiter.acquire(5);
    std::vector<std::string> log;
    auto a = weft::spawn(take(limiter, 2, "a", start, log));
    co_await until_waiting(limiter, 1);
    auto b = weft::spawn(take(limiter, 1, "b", start, log));
    co_await until_waiting(limiter, 2);
    auto c = weft::spawn(take(limiter, 1, "c", start, log));
    co_await until_waiting(limiter, 3);
    b.cancel();
    co_await test::expect_cancelled(std::move(b));
    CHECK(limiter.waiting() == 2);
    co_await a;
    co_await c;
    CHECK(log == std::vector<std::string>{"a@200", "c@300"});
}

weft::Task<void> wait_for_acquire_times_out_taking_nothing() {
    weft::RateLimiter limiter({.rate = 10, .burst = 2});
    co_await limiter.acquire(2);
    const auto start = weft::now();
    bool timed_out = false;
    try {
        co_await weft::wait_for(limiter.acquire(2), 150ms);  // due at 200 ms
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(test::ms_since(start) == 150);
    CHECK(limiter.waiting() == 0);
    CHECK(limiter.available() == 1);  // what accrued is still there
    co_await limiter.acquire(2);
    CHECK(test::ms_since(start) == 200);
}

weft::Task<void> misuse() {
    weft::RateLimiter limiter({.rate = 10, .burst = 5});
    bool threw = false;
    try {
        co_await limiter.acquire(6);
    } catch (const weft::UsageError& e) {
        threw = std::string(e.what()).find("burst") != std::string::npos;
    }
    CHECK(threw);
    CHECK_THROWS_AS(limiter.try_acquire(6), weft::UsageError);
    co_await limiter.acquire(0);  // nothing to take
    CHECK(limiter.try_acquire(0));
    CHECK(limiter.available() == 5);
}

// Many tasks take one token at a time for 10 simulated seconds while a chaos task cancels one
// every 37 ms and starts a new one: exactly burst + rate * 10 s grants fall in the interval,
// and none before its instant.
struct Storm {
    weft::RateLimiter limiter{{.rate = 100, .burst = 10}};
    weft::Clock::time_point start = weft::now();
    weft::Clock::time_point end = start + 10s;
    std::uint64_t granted = 0;        // grants at or before `end` (one worker: no races)
    std::uint64_t late_grants = 0;    // the one grant past `end` each worker may get
    std::uint64_t early = 0;          // a grant before the token could have accrued
};

weft::Task<void> storm_worker(Storm& storm) {
    for (;;) {
        co_await storm.limiter.acquire();
        const auto at = weft::now();
        if (at > storm.end) {
            ++storm.late_grants;
            co_return;
        }
        ++storm.granted;
        // The k-th grant (k from 1) cannot come before (k - burst) tokens accrued.
        const auto due = storm.start + std::chrono::milliseconds(10) * (static_cast<std::int64_t>(storm.granted) - 10);
        if (storm.granted > 10 && at < due) ++storm.early;
    }
}

weft::Task<void> paused_storm() {
    Storm storm;
    std::vector<weft::JoinHandle<void>> workers;
    for (int i = 0; i < 50; ++i) workers.push_back(weft::spawn(storm_worker(storm)));
    std::uint64_t rng = 0x5EED;
    int cancelled = 0;
    while (weft::now() + 37ms < storm.end) {
        co_await weft::sleep(37ms);
        auto& victim = workers[test::splitmix64(rng) % workers.size()];
        victim.cancel();
        try {
            co_await victim;
        } catch (const weft::CancelledError&) {
            ++cancelled;
        }
        victim = weft::spawn(storm_worker(storm));
    }
    for (auto& worker : workers) co_await worker;
    CHECK(cancelled > 200);
    CHECK(storm.granted == 10 + 100 * 10);
    CHECK(storm.early == 0);
    CHECK(storm.limiter.waiting() == 0);
}

// Real time, 2 workers: every acquire that returned is counted once, and the total cannot
// have come sooner than the bucket allows (the limiter is never early).
weft::Task<void> real_storm(std::uint64_t per_task, int tasks, std::atomic<std::uint64_t>& granted,
                            std::atomic<std::uint64_t>& timed_out) {
    weft::RateLimiter limiter({.rate = 20'000, .burst = 100});
    const auto start = weft::now();
    std::vector<weft::JoinHandle<void>> handles;
    for (int t = 0; t < tasks; ++t) {
        handles.push_back(weft::spawn([](weft::RateLimiter& l, std::uint64_t count, std::uint64_t seed,
                                         std::atomic<std::uint64_t>& g,
                                         std::atomic<std::uint64_t>& lost) -> weft::Task<void> {
            std::uint64_t rng = seed;
            for (std::uint64_t i = 0; i < count;) {
                if (test::splitmix64(rng) % 8 == 0) {
                    try {  // some waits give up at once or after a little while
                        co_await weft::wait_for(l.acquire(), std::chrono::microseconds(test::splitmix64(rng) % 200));
                    } catch (const weft::TimeoutError&) {
                        lost.fetch_add(1, std::memory_order_relaxed);
                        continue;
                    }
                } else {
                    co_await l.acquire();
                }
                g.fetch_add(1, std::memory_order_relaxed);
                ++i;
            }
        }(limiter, per_task, 0x1234 + static_cast<std::uint64_t>(t), granted, timed_out)));
    }
    for (auto& h : handles) co_await h;
    const auto elapsed = weft::now() - start;
    const std::uint64_t total = per_task * static_cast<std::uint64_t>(tasks);
    CHECK(granted.load() == total);
    CHECK(limiter.waiting() == 0);
    // (total - burst) tokens must accrue at 20,000 per second: 50 us each.
    CHECK(elapsed >= std::chrono::microseconds(50) * static_cast<std::int64_t>(total - 100));
}

}  // namespace

TEST_CASE("RateLimiter: a burst, then one token per period, at exact instants", "[sync][rate_limiter]") {
    weft::run(burst_then_one_per_period(), test::paused_clock());
}

TEST_CASE("RateLimiter: an uneven rate is counted exactly, without drift", "[sync][rate_limiter]") {
    weft::run(uneven_rate_is_exact(), test::paused_clock());
}

TEST_CASE("RateLimiter: FIFO: a big request is not starved, nobody overtakes", "[sync][rate_limiter]") {
    weft::run(big_request_not_starved_and_nobody_overtakes(), test::paused_clock());
}

TEST_CASE("RateLimiter: a head cancelled in its sleep takes nothing, the next goes on",
          "[sync][rate_limiter][cancel]") {
    weft::run(cancelled_head_takes_nothing(), test::paused_clock());
}

TEST_CASE("RateLimiter: a cancelled queued waiter takes nothing", "[sync][rate_limiter][cancel]") {
    weft::run(cancelled_queued_waiter_takes_nothing(), test::paused_clock());
}

TEST_CASE("RateLimiter: wait_for(acquire()) times out having taken nothing", "[sync][rate_limiter][cancel]") {
    weft::run(wait_for_acquire_times_out_taking_nothing(), test::paused_clock());
}

TEST_CASE("RateLimiter: n > burst is a UsageError, bad options too", "[sync][rate_limiter]") {
    weft::run(misuse(), test::paused_clock());
    CHECK_THROWS_AS(weft::RateLimiter({.rate = 0}), weft::UsageError);
    CHECK_THROWS_AS(weft::RateLimiter({.rate = 1, .per = 0s}), weft::UsageError);
    CHECK_THROWS_AS(weft::RateLimiter({.rate = 1, .per = 1000h, .burst = 1'000'000'000}), weft::UsageError);
}

TEST_CASE("RateLimiter: storm with cancellations on the paused clock: exact grants in 10 s",
          "[sync][rate_limiter][stress]") {
    weft::run(paused_storm(), test::paused_clock());
}

TEST_CASE("RateLimiter: storm on 2 workers: every grant counted, never early", "[sync][rate_limiter][stress]") {
    std::atomic<std::uint64_t> granted{0};
    std::atomic<std::uint64_t> timed_out{0};
    weft::run(real_storm(test::scaled<std::uint64_t>(250, 50), 16, granted, timed_out), test::workers(2));
}
