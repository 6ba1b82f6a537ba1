// weft::Condition on one worker, step by step: notify counts and order, wait_for, the lock
// rules, and cancellation (a cancelled wait re-acquires the lock; a notified-then-cancelled
// wait keeps its notification); then a producer/consumer hand-off on several workers.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "support/clock.hpp"
#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<void> wait_append(weft::Condition& cond, char name, std::string& log) {
    auto held = co_await cond.lock();
    co_await cond.wait();
    // No CHECK here: this task may run on another worker beside the test's own CHECKs, and
    // Catch2's assertion counters are not thread-safe. A '!' in the log marks a missing lock.
    log.push_back(cond.underlying_lock().held_by_current_task() ? name : '!');
}

weft::Task<void> notify_counts() {
    weft::Condition cond;
    std::string log;
    std::vector<weft::JoinHandle<void>> tasks;
    for (char name : std::string("abcd")) {
        tasks.push_back(weft::spawn(wait_append(cond, name, log)));
        co_await weft::testing::until_waiters(cond, tasks.size());  // arrival order a, b, c, d
    }
    CHECK_FALSE(cond.locked());  // every waiter released it
    {
        auto held = co_await cond.lock();
        cond.notify(2);
        co_await test::settle();
        CHECK(log.empty());  // woken, but the lock is still ours
    }
    co_await test::settle();
    std::string first = log;
    std::sort(first.begin(), first.end());
    CHECK(first == "ab");  // the two longest waiters
    CHECK(weft::testing::waiters(cond) == 2);
    {
        auto held = co_await cond.lock();
        cond.notify(0);
        cond.notify_all();
    }
    for (auto& task : tasks) co_await task;
    std::string all = log;
    std::sort(all.begin(), all.end());
    CHECK(all == "abcd");
    CHECK(weft::testing::waiters(cond) == 0);
    auto held = co_await cond.lock();
    cond.notify(5);  // nobody waits: a no-op
}

weft::Task<void> lock_rules() {
    weft::Condition cond;
    CHECK_THROWS_AS(cond.notify(), weft::UsageError);
    CHECK_THROWS_AS(cond.notify_all(), weft::UsageError);
    bool refused = false;
    try {
        co_await cond.wait();
    } catch (const weft::UsageError&) {
        refused = true;
    }
    CHECK(refused);
    CHECK_FALSE(cond.locked());
}

weft::Task<int> wait_for_value(weft::Condition& cond, int& value) {
    auto held = co_await cond.lock();
    int seen = co_await cond.wait_for([&] { return value >= 3 ? value : 0; });
    co_return seen;
}

weft::Task<void> predicate_waits() {
    weft::Lock shared_lock;
    weft::Condition cond(shared_lock);  // over a lock of our own
    int value = 0;
    auto waiter = weft::spawn(wait_for_value(cond, value));
    for (int i = 1; i <= 4; ++i) {
        co_await weft::testing::until_waiters(cond, 1);
        auto held = co_await shared_lock.lock();
        value = i;
        cond.notify();
        if (i == 3) break;
    }
    {
        auto got = co_await waiter;
        CHECK(got == 3);
    }
}

weft::Task<void> report_lock_on_cancel(weft::Condition& cond, std::string& log) {
    auto held = co_await cond.lock();
    try {
        co_await cond.wait();
    } catch (const weft::CancelledError&) {
        log += cond.underlying_lock().held_by_current_task() ? "cancelled, lock held" : "cancelled, lock NOT held";
        throw;
    }
    log += "notified";
    co_await weft::yield_now();  // a cancellation that came after the notification lands here
}

weft::Task<void> cancelled_wait_reacquires() {
    weft::Condition cond;
    std::string log;
    auto waiter = weft::spawn(report_lock_on_cancel(cond, log));
    co_await weft::testing::until_waiters(cond, 1);
    auto held = co_await cond.lock();
    waiter.cancel();
    co_await test::settle();
    CHECK(log.empty());  // it must get the lock back before it may throw
    CHECK(weft::testing::waiters(cond.underlying_lock()) == 1);
    held.unlock();
    co_await test::expect_cancelled(std::move(waiter));
    CHECK(log == "cancelled, lock held");
    CHECK_FALSE(cond.locked());
}

weft::Task<void> notified_then_cancelled() {
    weft::Condition cond;
    std::string log;
    auto waiter = weft::spawn(report_lock_on_cancel(cond, log));
    co_await weft::testing::until_waiters(cond, 1);
    {
        auto held = co_await cond.lock();
        cond.notify();
        waiter.cancel();  // after the notification, before it runs: the cancel still wins
    }
    co_await test::expect_cancelled(std::move(waiter));
    CHECK(log == "cancelled, lock held");
    CHECK_FALSE(cond.locked());
}

// Notified, then cancelled while it queues for the lock (the notifier still holds it): the
// cancellation wins and the notification goes on to the next waiter (asyncio 3.13's wait()).
weft::Task<void> cancelled_while_relocking() {
    weft::Condition cond;
    std::string log_a;
    std::string log_b;
    auto a = weft::spawn(report_lock_on_cancel(cond, log_a));
    co_await weft::testing::until_waiters(cond, 1);
    auto b = weft::spawn(wait_append(cond, 'b', log_b));
    co_await weft::testing::until_waiters(cond, 2);
    {
        auto held = co_await cond.lock();
        cond.notify();                                                  // a
        co_await weft::testing::until_waiters(cond.underlying_lock(), 1);  // a queues for the lock
        CHECK(a.cancel());
    }
    co_await test::expect_cancelled(std::move(a));
    CHECK(log_a == "cancelled, lock held");
    co_await std::move(b);  // woken by the notification a passed on
    CHECK(log_b == "b");
    CHECK_FALSE(cond.locked());
    CHECK(weft::testing::waiters(cond) == 0);
}

weft::Task<void> timed_out_wait() {
    weft::Condition cond;
    auto held = co_await cond.lock();
    bool timed_out = false;
    try {
        auto deadline = weft::timeout(20ms);
        co_await cond.wait();
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(cond.underlying_lock().held_by_current_task());
    CHECK(weft::testing::waiters(cond) == 0);
}

struct Mailbox {
    weft::Condition cond;
    std::deque<std::uint64_t> items;
    bool closed = false;
};

weft::Task<std::uint64_t> drain(Mailbox& box) {
    std::uint64_t sum = 0;
    for (;;) {
        auto held = co_await box.cond.lock();
        co_await box.cond.wait_for([&] { return !box.items.empty() || box.closed; });
        if (box.items.empty()) co_return sum;
        sum += box.items.front();
        box.items.pop_front();
    }
}

weft::Task<std::uint64_t> mailbox_traffic(int consumers, std::uint64_t n) {
    Mailbox box;
    std::vector<weft::JoinHandle<std::uint64_t>> tasks;
    for (int i = 0; i < consumers; ++i) tasks.push_back(weft::spawn(drain(box)));
    for (std::uint64_t i = 1; i <= n; ++i) {
        auto held = co_await box.cond.lock();
        box.items.push_back(i);
        box.cond.notify();
    }
    {
        auto held = co_await box.cond.lock();
        box.closed = true;
        box.cond.notify_all();
    }
    std::uint64_t sum = 0;
    for (auto& task : tasks) sum += co_await task;
    co_return sum;
}

}  // namespace

TEST_CASE("Condition: notify(n) wakes the n longest waiters, notify_all the rest", "[sync][condition]") {
    weft::run(notify_counts(), test::one_worker());
}

TEST_CASE("Condition: wait and notify need the lock", "[sync][condition]") {
    weft::run(lock_rules(), test::one_worker());
}

TEST_CASE("Condition: wait_for(predicate) returns the predicate's value", "[sync][condition]") {
    weft::run(predicate_waits(), test::one_worker());
}

TEST_CASE("Condition: a cancelled wait re-acquires the lock before it throws", "[sync][condition][cancel]") {
    weft::run(cancelled_wait_reacquires(), test::one_worker());
}

TEST_CASE("Condition: a waiter notified and then cancelled before it runs throws, holding the lock",
          "[sync][condition][cancel]") {
    weft::run(notified_then_cancelled(), test::one_worker());
}

TEST_CASE("Condition: a waiter cancelled while it re-acquires the lock throws and passes its notification on",
          "[sync][condition][cancel]") {
    weft::run(cancelled_while_relocking(), test::one_worker());
    weft::run(cancelled_while_relocking(), {.workers = 4});
}

TEST_CASE("Condition: a timed-out wait holds the lock again", "[sync][condition][cancel]") {
    weft::run(timed_out_wait(), test::paused_clock());
}

TEST_CASE("Condition: a mailbox on several workers delivers every item once", "[sync][condition][stress]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::uint64_t n = test::scaled<std::uint64_t>(20000, 2000);
    CHECK(weft::run(mailbox_traffic(4, n), test::workers(workers)) == n * (n + 1) / 2);
}
