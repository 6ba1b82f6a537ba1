// Durations too long to add to now() (milliseconds::max(), hours::max(), years): "never",
// as asyncio's timeout(None) or a sleep of a year. Not a deadline that wrapped into the past,
// and not one that throws: the sum saturates at the clock's end of time.
//
// On the paused clock (virtual time): a task that would see a wrapped deadline finishes at
// once; one that waits "forever" is still waiting an hour later, and ends only when cancelled.
#include <catch2/catch.hpp>

#include <weft/call_later.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>

#include "support/clock.hpp"

using namespace std::chrono_literals;

namespace {

using Forever = std::chrono::duration<std::int64_t, std::ratio<86400 * 365>>;  // years: ~2^63 of them

template <class Duration>
weft::Task<> sleep_for(Duration duration) {
    co_await weft::sleep(duration);
}

// A sleep of `duration` is still pending an hour later, and a cancel() ends it.
template <class Duration>
weft::Task<bool> sleeps_until_cancelled(Duration duration) {
    auto sleeper = weft::spawn(sleep_for(duration));
    co_await weft::sleep(1h);
    const bool waiting = !sleeper.done();
    sleeper.cancel();
    bool cancelled = false;
    try {
        co_await sleeper;
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    co_return waiting&& cancelled;
}

// A timeout scope of `duration` around a 10 ms sleep never fires.
template <class Duration>
weft::Task<std::int64_t> scope_never_fires(Duration duration) {
    const auto start = weft::now();
    {
        auto scope = weft::timeout(duration);
        co_await weft::sleep(10ms);
        co_await weft::sleep(1h);
        if (scope.expired()) co_return -1;
    }
    co_return test::ms_since(start);
}

template <class Duration>
weft::Task<int> wait_for_never_fires(Duration duration) {
    auto handle = weft::spawn([]() -> weft::Task<int> {
        co_await weft::sleep(2h);
        co_return 7;
    }());
    co_return co_await weft::wait_for(std::move(handle), duration);
}

weft::Task<bool> call_later_never_fires() {
    std::atomic<int> calls{0};
    auto timer = weft::call_later(std::chrono::milliseconds::max(), [&calls] { calls.fetch_add(1); });
    co_await weft::sleep(1h);
    const bool not_called = calls.load() == 0;
    timer.cancel();
    co_return not_called;
}

// Cancelled at shutdown, it cleans up for a while (real time) before it ends.
weft::Task<> slow_cleanup(std::atomic<int>* started, std::atomic<int>* cleaned) {
    started->fetch_add(1);
    bool cancelled = false;
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    if (cancelled) {
        co_await weft::sleep(30ms);
        cleaned->fetch_add(1);
        throw weft::CancelledError();
    }
}

weft::Task<int> negative_and_nan() {
    int outcomes = 0;
    const auto start = weft::now();
    co_await weft::sleep(-5s);  // asyncio: a negative sleep returns at once
    co_await weft::sleep(std::chrono::hours::min());
    if (test::ms_since(start) == 0) ++outcomes;
    try {
        auto scope = weft::timeout(-1s);  // expired: raises at the first await
        co_await weft::sleep(0ms);
    } catch (const weft::TimeoutError&) {
        ++outcomes;
    }
    try {
        co_await weft::sleep(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()));
    } catch (const weft::UsageError&) {
        ++outcomes;
    }
    try {
        auto scope = weft::timeout(std::chrono::duration<double>(std::numeric_limits<double>::quiet_NaN()));
    } catch (const weft::UsageError&) {
        ++outcomes;
    }
    // An infinite floating-point duration is forever too.
    auto sleeper = weft::spawn(sleep_for(std::chrono::duration<double>(std::numeric_limits<double>::infinity())));
    co_await weft::sleep(1h);
    if (!sleeper.done()) ++outcomes;
    sleeper.cancel();
    co_return outcomes;
}

}  // namespace

TEST_CASE("a sleep longer than the clock can count waits until cancelled", "[timeout][forever]") {
    CHECK(weft::run(sleeps_until_cancelled(std::chrono::milliseconds::max()), test::paused_clock()));
    CHECK(weft::run(sleeps_until_cancelled(std::chrono::hours::max()), test::paused_clock()));
    CHECK(weft::run(sleeps_until_cancelled(std::chrono::nanoseconds::max()), test::paused_clock()));
    CHECK(weft::run(sleeps_until_cancelled(Forever(1'000'000'000)), test::paused_clock()));
}

TEST_CASE("a timeout scope longer than the clock can count never fires", "[timeout][forever]") {
    CHECK(weft::run(scope_never_fires(std::chrono::milliseconds::max()), test::paused_clock()) == 10 + 3600 * 1000);
    CHECK(weft::run(scope_never_fires(std::chrono::seconds::max()), test::paused_clock()) == 10 + 3600 * 1000);
    CHECK(weft::run(scope_never_fires(Forever(1'000'000'000)), test::paused_clock()) == 10 + 3600 * 1000);
}

TEST_CASE("wait_for longer than the clock can count returns the value", "[timeout][forever]") {
    CHECK(weft::run(wait_for_never_fires(std::chrono::milliseconds::max()), test::paused_clock()) == 7);
    CHECK(weft::run(wait_for_never_fires(std::chrono::hours::max()), test::paused_clock()) == 7);
}

TEST_CASE("call_later longer than the clock can count never calls", "[timeout][forever]") {
    CHECK(weft::run(call_later_never_fires(), test::paused_clock()));
}

TEST_CASE("negative durations have passed, NaN is a UsageError, infinity is forever", "[timeout][forever]") {
    CHECK(weft::run(negative_and_nan(), test::paused_clock()) == 5);
}

TEST_CASE("shutdown_grace of milliseconds::max() lets a cancelled task finish its cleanup", "[runtime][forever]") {
    std::atomic<int> started{0};
    std::atomic<int> cleaned{0};
    {
        weft::Runtime runtime({.workers = 1, .shutdown_grace = std::chrono::milliseconds::max()});
        runtime.spawn(slow_cleanup(&started, &cleaned)).detach();
        while (started.load() == 0) std::this_thread::yield();
    }
    CHECK(cleaned.load() == 1);
}
