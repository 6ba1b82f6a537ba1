// weft::Event and weft::Latch on one worker, step by step: set wakes every waiter (even if
// cleared before they run), wait on a set event does not suspend, cancellation; the latch's
// count, arrive_and_wait, and misuse.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "support/clock.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<void> wait_append(weft::Event& event, char name, std::string& log) {
    co_await event.wait();
    log.push_back(name);
}

weft::Task<void> set_wakes_everyone() {
    weft::Event event;
    std::string log;
    CHECK_FALSE(event.is_set());
    std::vector<weft::JoinHandle<void>> tasks;
    for (char name : std::string("abc")) tasks.push_back(weft::spawn(wait_append(event, name, log)));
    co_await weft::testing::until_waiters(event, 3);
    CHECK(log.empty());
    event.set();
    event.clear();  // before any of them runs: they were woken, they still return
    CHECK_FALSE(event.is_set());
    for (auto& task : tasks) co_await task;
    std::sort(log.begin(), log.end());  // all woken at once: they may run in any order
    CHECK(log == "abc");
    CHECK(weft::testing::waiters(event) == 0);
}

weft::Task<void> set_event_does_not_suspend() {
    weft::Event event;
    event.set();
    event.set();  // idempotent
    CHECK(event.is_set());
    co_await event.wait();  // returns at once
    co_await event.wait();
    event.clear();
    std::string log;
    auto late = weft::spawn(wait_append(event, 'z', log));
    co_await weft::testing::until_waiters(event, 1);
    event.set();
    co_await late;
    CHECK(log == "z");
}

weft::Task<void> cancelled_event_wait() {
    weft::Event event;
    std::string log;
    auto a = weft::spawn(wait_append(event, 'a', log));
    auto b = weft::spawn(wait_append(event, 'b', log));
    co_await weft::testing::until_waiters(event, 2);
    a.cancel();
    co_await test::expect_cancelled(std::move(a));
    CHECK(weft::testing::waiters(event) == 1);
    event.set();
    co_await b;
    CHECK(log == "b");
    bool timed_out = false;
    event.clear();
    try {
        auto deadline = weft::timeout(5ms);
        co_await event.wait();
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(weft::testing::waiters(event) == 0);
}

weft::Task<void> latch_count_down(weft::Latch& latch, std::string& log, char name) {
    co_await latch.arrive_and_wait();
    log.push_back(name);
}

weft::Task<void> latch_steps() {
    weft::Latch latch(3);
    std::string log;
    CHECK_FALSE(latch.try_wait());
    auto a = weft::spawn(latch_count_down(latch, log, 'a'));
    auto b = weft::spawn(latch_count_down(latch, log, 'b'));
    co_await weft::testing::until_waiters(latch, 2);
    CHECK(latch.count() == 1);
    CHECK(log.empty());
    latch.count_down();
    CHECK(latch.try_wait());
    co_await latch.wait();  // open: no suspension
    co_await a;
    co_await b;
    CHECK(log == "ab");
    CHECK_THROWS_AS(latch.count_down(), weft::UsageError);
    weft::Latch big(2);
    CHECK_THROWS_AS(big.count_down(3), weft::UsageError);
    CHECK(big.count() == 2);
    big.count_down(2);
    CHECK(big.try_wait());
}

weft::Task<void> latch_opened_elsewhere(weft::Latch& latch, int arrivals) {
    std::vector<weft::JoinHandle<void>> tasks;
    for (int i = 0; i < arrivals; ++i)
        tasks.push_back(weft::spawn([](weft::Latch& l) -> weft::Task<void> {
            co_await weft::yield_now();
            l.count_down();
        }(latch)));
    co_await latch.wait();
    CHECK(latch.count() == 0);
    for (auto& task : tasks) co_await task;
}

}  // namespace

TEST_CASE("Event: set() wakes every waiter, even if cleared before they run", "[sync][event]") {
    weft::run(set_wakes_everyone(), test::one_worker());
}

TEST_CASE("Event: wait() on a set event does not suspend", "[sync][event]") {
    weft::run(set_event_does_not_suspend(), test::one_worker());
}

TEST_CASE("Event: cancelled and timed-out waits leave the queue", "[sync][event][cancel]") {
    weft::run(cancelled_event_wait(), test::paused_clock());
}

TEST_CASE("Latch: counts down, opens once, refuses to go below zero", "[sync][latch]") {
    weft::run(latch_steps(), test::one_worker());
}

TEST_CASE("Latch: opened by tasks on other workers", "[sync][latch]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    weft::Latch latch(50);
    weft::run(latch_opened_elsewhere(latch, 50), test::workers(workers));
}

namespace {

weft::Task<std::uint64_t> wait_then_report_id(weft::Event& event) {
    co_await event.wait();
    co_return weft::current_task().id();
}

// Regression (scheduler fork-join fast path): a task woken by a sync primitive sits at the
// bottom of the local queue; awaiting its JoinHandle then must not run it inline from its
// root frame as part of the awaiting task: it resumes where it waited, as itself.
weft::Task<void> woken_task_joined_while_queued() {
    weft::Event event;
    auto a = weft::spawn(wait_then_report_id(event));
    auto b = weft::spawn(wait_then_report_id(event));
    std::uint64_t a_id = a.id(), b_id = b.id();
    co_await weft::testing::until_waiters(event, 2);
    event.set();  // both queued on this worker, the second woken at the bottom
    {
        auto got = co_await b;
        CHECK(got == b_id);
    }
    {
        auto got = co_await a;
        CHECK(got == a_id);
    }
}

}  // namespace

TEST_CASE("Event: a woken task awaited while still queued resumes as itself", "[sync][event]") {
    weft::run(woken_task_joined_while_queued(), test::one_worker());
}
