// weft::sleep / sleep_until / now and call_later / call_at.
//
// Most tests run on the paused clock (RuntimeOptions::virtual_time, one worker): time only
// moves when the worker is idle, straight to the next timer, so "after 300 ms" is exact and
// an hour-long sleep costs nothing. The multi-worker tests only rely on "never early".
#include <catch2/catch.hpp>

#include <weft/call_later.hpp>
#include <weft/sleep.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "support/clock.hpp"
#include "support/foreign_coroutine.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

struct Stamp {
    char name;
    std::int64_t at_ms;
};

// One worker: the log needs no lock.
weft::Task<void> sleep_then_log(char name, std::chrono::milliseconds delay, weft::Clock::time_point start,
                                std::vector<Stamp>* log) {
    co_await weft::sleep(delay);
    log->push_back({name, test::ms_since(start)});
}

weft::Task<std::vector<Stamp>> sleepers_wake_in_deadline_order() {
    const auto start = weft::now();
    std::vector<Stamp> log;
    std::vector<weft::JoinHandle<void>> handles;
    handles.push_back(weft::spawn(sleep_then_log('c', 300ms, start, &log)));
    handles.push_back(weft::spawn(sleep_then_log('a', 100ms, start, &log)));
    handles.push_back(weft::spawn(sleep_then_log('d', 24h, start, &log)));
    handles.push_back(weft::spawn(sleep_then_log('b', 200ms, start, &log)));
    handles.push_back(weft::spawn(sleep_then_log('z', 0ms, start, &log)));
    for (auto& handle : handles) co_await handle;
    co_return log;
}

// asyncio's order: sleepers whose deadlines fall on the same tick wake in the order they
// went to sleep (gather starts them in argument order), as its ready queue runs them.
weft::Task<void> sleep_then_record(int index, std::chrono::milliseconds delay, std::vector<int>* order) {
    co_await weft::sleep(delay);
    order->push_back(index);
}

weft::Task<std::vector<int>> same_tick_sleepers(int count) {
    std::vector<int> order;
    std::vector<weft::Task<void>> sleepers;
    for (int i = 0; i < count; ++i) sleepers.push_back(sleep_then_record(i, 50ms, &order));
    co_await weft::gather(std::move(sleepers));
    co_return order;
}

weft::Task<std::vector<std::int64_t>> sleep_until_and_zero() {
    const auto start = weft::now();
    std::vector<std::int64_t> at;
    co_await weft::sleep_until(start + 250ms);
    at.push_back(test::ms_since(start));
    co_await weft::sleep_until(start + 100ms);  // in the past: just a yield
    at.push_back(test::ms_since(start));
    co_await weft::sleep(0ms);
    at.push_back(test::ms_since(start));
    co_await weft::sleep(-5s);
    at.push_back(test::ms_since(start));
    co_await weft::sleep(std::chrono::microseconds(1));  // rounded up to the next tick
    at.push_back(test::ms_since(start));
    co_return at;
}

// Each sleeper checks it was not woken before its deadline (real clock, many workers).
weft::Task<void> sleep_never_early(int index, std::atomic<int>* early) {
    for (int round = 0; round < 3; ++round) {
        const auto deadline = weft::now() + std::chrono::milliseconds(1 + (index + round) % 4);
        co_await weft::sleep_until(deadline);
        if (weft::now() < deadline) early->fetch_add(1);
    }
}

weft::Task<int> many_real_sleepers(int count) {
    std::atomic<int> early{0};
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(sleep_never_early(i, &early)));
    for (auto& handle : handles) co_await handle;
    co_return early.load();
}

// Keeps a worker busy (its run queue never empty) until `stop`.
weft::Task<void> busy_yielding(std::atomic<int>* started, const std::atomic<bool>* stop) {
    started->fetch_add(1);
    while (!stop->load()) co_await weft::yield_now();
}

struct SleepsWhileBusy {
    int busy_at_first_sleep = 0;  // yielders running when the sleepers were spawned
    int woke = 0;                 // sleepers whose sleep ended
    int early = 0;                // of which: before their deadline
};

// Sleepers spawned (so they may arm their timers on any worker) while one task per worker
// keeps every worker busy yielding: a busy worker still checks its timers, so every sleep
// ends, and none ends before its deadline.
weft::Task<SleepsWhileBusy> sleep_after_spawned_elsewhere(unsigned workers) {
    constexpr int kSleepers = 32;
    std::atomic<int> started{0};
    std::atomic<bool> stop{false};
    std::vector<weft::JoinHandle<void>> busy;
    for (unsigned w = 0; w < workers; ++w) busy.push_back(weft::spawn(busy_yielding(&started, &stop)));
    while (started.load() < static_cast<int>(workers)) co_await weft::yield_now();
    SleepsWhileBusy out;
    out.busy_at_first_sleep = started.load();
    std::atomic<int> early{0};
    std::vector<weft::JoinHandle<void>> sleepers;
    for (int i = 0; i < kSleepers; ++i) sleepers.push_back(weft::spawn(sleep_never_early(i, &early)));
    for (auto& handle : sleepers) {
        co_await handle;
        ++out.woke;
    }
    out.early = early.load();
    stop = true;
    for (auto& handle : busy) co_await handle;
    co_return out;
}

// ---- call_later / call_at -------------------------------------------------------------

struct CallbackRun {
    std::vector<Stamp> log;
    bool cancel_before = false;
    bool cancel_after = false;
    bool done_after = false;
};

weft::Task<CallbackRun> callbacks_in_order() {
    const auto start = weft::now();
    CallbackRun run;
    auto c = weft::call_later(30ms, [&] { run.log.push_back({'c', test::ms_since(start)}); });
    auto a = weft::call_later(10ms, [&] { run.log.push_back({'a', test::ms_since(start)}); });
    auto b = weft::call_at(start + 20ms, [&] { run.log.push_back({'b', test::ms_since(start)}); });
    auto x = weft::call_later(15ms, [&] { run.log.push_back({'x', test::ms_since(start)}); });
    run.cancel_before = x.cancel();  // never runs
    co_await weft::sleep(1h);
    run.cancel_after = a.cancel();  // already ran
    run.done_after = a.done() && b.done() && c.done();
    co_return run;
}

struct CancelledTimer {
    bool cancelled = false;
    bool ran = false;
    bool cancel_again = true;
};

weft::Task<CancelledTimer> call_later_then_cancel() {
    CancelledTimer result;
    auto timer = weft::call_later(50ms, [&] { result.ran = true; });
    co_await weft::sleep(20ms);
    result.cancelled = timer.cancel();
    co_await weft::sleep(1h);  // well past the callback's time
    result.cancel_again = timer.cancel();
    co_return result;
}

// The callback's task and this task wake at the same instant, this one first (it armed its
// timer first, and same-tick wakes run in order), so it cancels the timer before the
// callback runs: cancel() says true, so the callback must never run.
weft::Task<CancelledTimer> cancel_at_the_callback_instant() {
    CancelledTimer result;
    const auto start = weft::now();
    auto timer = weft::call_later(50ms, [&] { result.ran = true; });
    co_await weft::sleep_until(start + 50ms);  // the same instant, armed before the callback's
    result.cancelled = timer.cancel();
    co_await weft::sleep(1h);
    co_return result;
}

weft::Task<bool> detached_timer_still_fires() {
    bool ran = false;
    weft::call_later(5ms, [&] { ran = true; }).detach();
    co_await weft::sleep(10ms);
    co_return ran;
}

test::ForeignCoroutine sleep_outside_weft(bool* refused) {
    try {
        co_await weft::sleep(1ms);
    } catch (const weft::UsageError&) {
        *refused = true;
    }
}

}  // namespace

TEST_CASE("sleepers wake in deadline order at exactly their deadline (paused clock)", "[timers]") {
    auto log = weft::run(sleepers_wake_in_deadline_order(), test::paused_clock());
    REQUIRE(log.size() == 5);
    CHECK(log[0].name == 'z');
    CHECK(log[0].at_ms == 0);
    CHECK(log[1].name == 'a');
    CHECK(log[1].at_ms == 100);
    CHECK(log[2].name == 'b');
    CHECK(log[2].at_ms == 200);
    CHECK(log[3].name == 'c');
    CHECK(log[3].at_ms == 300);
    CHECK(log[4].name == 'd');
    CHECK(log[4].at_ms == 24 * 3600 * 1000);
}

TEST_CASE("sleepers due on the same tick wake in the order they went to sleep (paused clock)", "[timers]") {
    const int count = GENERATE(2, 3, 8, 100, 1000);  // (1000: more than a local queue holds)
    CAPTURE(count);
    std::vector<int> order = weft::run(same_tick_sleepers(count), test::paused_clock());
    std::vector<int> expected;
    for (int i = 0; i < count; ++i) expected.push_back(i);
    REQUIRE(order == expected);
}

TEST_CASE("sleep_until, sleep(0) and negative sleeps (paused clock)", "[timers]") {
    auto at = weft::run(sleep_until_and_zero(), test::paused_clock());
    REQUIRE(at == std::vector<std::int64_t>{250, 250, 250, 250, 251});
}

TEST_CASE("now() outside a runtime is steady_clock::now()", "[timers]") {
    const auto before = std::chrono::steady_clock::now();
    const auto now = weft::now();
    CHECK(now >= before);
    CHECK(now <= std::chrono::steady_clock::now());
}

TEST_CASE("sleeps on the real clock never end early, on 1, 2 and 4 workers", "[timers]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    CHECK(weft::run(many_real_sleepers(test::scaled(2'000, 300)), {.workers = workers}) == 0);
}

TEST_CASE("sleeps end, never early, while every worker is busy yielding, on 1, 2 and 4 workers", "[timers]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    const SleepsWhileBusy out = weft::run(sleep_after_spawned_elsewhere(workers), {.workers = workers});
    CHECK(out.busy_at_first_sleep == static_cast<int>(workers));
    CHECK(out.woke == 32);
    CHECK(out.early == 0);
}

TEST_CASE("call_later and call_at run their callbacks in time order, cancel() stops one", "[timers][call_later]") {
    auto run = weft::run(callbacks_in_order(), test::paused_clock());
    REQUIRE(run.log.size() == 3);
    CHECK(run.log[0].name == 'a');
    CHECK(run.log[0].at_ms == 10);
    CHECK(run.log[1].name == 'b');
    CHECK(run.log[1].at_ms == 20);
    CHECK(run.log[2].name == 'c');
    CHECK(run.log[2].at_ms == 30);
    CHECK(run.cancel_before);
    CHECK_FALSE(run.cancel_after);
    CHECK(run.done_after);
}

TEST_CASE("call_later + cancel: the callback never runs, a second cancel is false", "[timers][call_later]") {
    auto result = weft::run(call_later_then_cancel(), test::paused_clock());
    CHECK(result.cancelled);
    CHECK_FALSE(result.ran);
    CHECK_FALSE(result.cancel_again);
}

TEST_CASE("call_later: cancel() that returns true at the callback's own instant wins", "[timers][call_later]") {
    auto result = weft::run(cancel_at_the_callback_instant(), test::paused_clock());
    CHECK(result.cancelled);
    CHECK_FALSE(result.ran);
}

TEST_CASE("a detached call_later still fires", "[timers][call_later]") {
    CHECK(weft::run(detached_timer_still_fires(), test::paused_clock()));
}

TEST_CASE("timers outside a task, and a paused clock on several workers, are refused", "[timers]") {
    CHECK_THROWS_AS(weft::call_later(1ms, [] {}), weft::UsageError);
    bool refused = false;
    auto probe = sleep_outside_weft(&refused);
    CHECK(probe.done());
    CHECK(refused);
    CHECK_THROWS_AS(weft::Runtime(weft::RuntimeOptions{.workers = 2, .virtual_time = true}), weft::UsageError);
}

TEST_CASE("paused clock: a never deadline does not fire, and the clock does not run to the end of time", "[timers]") {
    // README: a duration too long for the clock means never (asyncio.timeout(None)). On the
    // paused clock a worker with nothing else to do jumped to that deadline: the scope raised
    // TimeoutError, and now() overflowed to a negative time.
    weft::Runtime rt(test::paused_clock());
    weft::Event event;
    std::latch waiting{1};
    std::thread setter([&] {
        waiting.wait();
        while (!rt.metrics().workers[0].asleep) std::this_thread::yield();  // the worker has nothing left to do
        rt.call_soon_threadsafe([&event] { event.set(); });  // (other threads do not hold the clock)
    });
    const bool timed_out = weft::block_on(rt, [](weft::Event& event, std::latch& waiting) -> weft::Task<bool> {
        co_await weft::sleep(std::chrono::hours(1));  // (a clock that has moved: the deadline saturates)
        const auto start = weft::now();
        bool timed_out = false;
        try {
            auto never = weft::timeout(std::chrono::hours::max());
            waiting.count_down();
            co_await event.wait();
        } catch (const weft::TimeoutError&) {
            timed_out = true;
        }
        CHECK(weft::now() >= start);
        // A "sleep forever" in the background does not drag the clock along either.
        auto forever = weft::spawn([]() -> weft::Task<void> { co_await weft::sleep(std::chrono::hours::max()); }());
        const auto before = weft::now();
        co_await weft::sleep(std::chrono::hours(1));
        CHECK(test::ms_since(before) == 3'600'000);
        forever.cancel();
        try {
            co_await std::move(forever);
        } catch (const weft::CancelledError&) {
        }
        co_return timed_out;
    }(event, waiting));
    setter.join();
    CHECK_FALSE(timed_out);
}

TEST_CASE("TimerHandle::cancel is true once, only before the callback starts, and call_later refuses an empty callback",
          "[timers]") {
    weft::run(
        []() -> weft::Task<void> {
            // A pending timer: the first cancel() wins, a second one reports that nothing was left to cancel.
            int runs = 0;
            auto pending = weft::call_later(std::chrono::hours(1), [&runs] { ++runs; });
            CHECK(pending.cancel());
            CHECK_FALSE(pending.cancel());
            // Running: cancel() is false (the header's promise: `if (timer.cancel()) do_it_myself();`
            // must not do the work twice).
            std::latch entered{1};
            std::promise<void> release;
            std::shared_future<void> released = release.get_future().share();
            weft::Event finished;
            auto running = weft::call_later(std::chrono::milliseconds(1), [&entered, released, &runs, &finished] {
                entered.count_down();
                released.wait();
                ++runs;
                finished.set();
            });
            const bool cancelled_while_running = co_await weft::offload([&] {
                entered.wait();
                bool result = running.cancel();
                release.set_value();
                return result;
            });
            CHECK_FALSE(cancelled_while_running);
            CHECK_THROWS_AS(weft::call_later(std::chrono::milliseconds(1), std::function<void()>{}), weft::UsageError);
            co_await finished.wait();
            CHECK(runs == 1);
        }(),
        {.workers = 2});
}
