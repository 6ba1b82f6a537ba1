// weft::Lock: asyncio.Lock's semantics step by step on one worker (FIFO hand-off, no barging,
// cancellation of waiters, misuse), then exact counts under contention on several workers.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

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

weft::Task<void> locked_append(weft::Lock& lock, char name, std::string& log) {
    auto held = co_await lock.lock();
    log.push_back(name);
    co_await weft::yield_now();  // hold it across a suspension
    log.push_back(name);
}

weft::Task<void> fifo_order() {
    weft::Lock lock;
    std::string log;
    auto held = co_await lock.lock();
    std::vector<weft::JoinHandle<void>> tasks;
    for (char name : std::string("abcd")) {
        tasks.push_back(weft::spawn(locked_append(lock, name, log)));
        co_await weft::testing::until_waiters(lock, tasks.size());  // arrival order is a, b, c, d
    }
    CHECK(log.empty());
    held.unlock();
    for (auto& task : tasks) co_await task;
    CHECK(log == "aabbccdd");  // one at a time, in arrival order
    CHECK_FALSE(lock.locked());
}

weft::Task<void> no_barging() {
    weft::Lock lock;
    std::string log;
    auto held = co_await lock.lock();
    auto waiter = weft::spawn(locked_append(lock, 'w', log));
    co_await weft::testing::until_waiters(lock, 1);
    held.unlock();              // handed to the waiter, which has not run yet
    CHECK(lock.locked());       // ...so the lock stays locked
    CHECK_FALSE(lock.try_lock());  // and nobody can take it ahead of the waiter
    CHECK(log.empty());
    co_await waiter;
    CHECK(log == "ww");
    CHECK(lock.try_lock());
    lock.unlock();
}

weft::Task<void> cancelled_waiter_never_holds() {
    weft::Lock lock;
    std::string log;
    auto held = co_await lock.lock();
    auto a = weft::spawn(locked_append(lock, 'a', log));
    co_await weft::testing::until_waiters(lock, 1);
    auto b = weft::spawn(locked_append(lock, 'b', log));
    co_await weft::testing::until_waiters(lock, 2);
    a.cancel();
    co_await test::expect_cancelled(std::move(a));
    CHECK(weft::testing::waiters(lock) == 1);
    CHECK(lock.held_by_current_task());  // still ours
    held.unlock();                       // goes to b, skipping the cancelled a
    co_await b;
    CHECK(log == "bb");
    CHECK_FALSE(lock.locked());
}

weft::Task<void> append_then_await(weft::Lock& lock, std::string& log) {
    auto held = co_await lock.lock();
    log += "got ";
    co_await weft::yield_now();  // the pending cancellation fires here; `held` unlocks
    log += "never";
}

weft::Task<void> cancelled_at_hand_off() {
    weft::Lock lock;
    std::string log;
    auto held = co_await lock.lock();
    auto waiter = weft::spawn(append_then_await(lock, log));
    co_await weft::testing::until_waiters(lock, 1);
    held.unlock();   // the lock is handed to the waiter...
    waiter.cancel(); // ...and it is cancelled before it runs: the cancel wins (asyncio)
    co_await test::expect_cancelled(std::move(waiter));
    CHECK(log.empty());          // its lock() threw
    CHECK_FALSE(lock.locked());  // and the lock it was handed came back
}

weft::Task<void> timeout_while_waiting() {
    weft::Lock lock;
    auto held = co_await lock.lock();
    bool timed_out = false;
    try {
        auto deadline = weft::timeout(50ms);
        auto never = co_await lock.lock();
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(weft::testing::waiters(lock) == 0);
    CHECK(lock.held_by_current_task());
}

weft::Task<void> unlock_misuse() {
    weft::Lock lock;
    CHECK_THROWS_AS(lock.unlock(), weft::UsageError);  // not locked
    std::atomic<bool> taken{false};
    auto holder = weft::spawn([](weft::Lock& l, std::atomic<bool>& flag) -> weft::Task<void> {
        CHECK(l.try_lock());
        flag = true;
        co_return;  // leaves it locked
    }(lock, taken));
    while (!taken) co_await weft::yield_now();  // let it run as a task of its own
    co_await holder;
    CHECK(taken);
    CHECK(lock.locked());
    CHECK_FALSE(lock.held_by_current_task());
    CHECK_THROWS_WITH(lock.unlock(), Catch::Contains("held by another task"));
    auto guard = weft::Lock::Guard();
    CHECK_THROWS_AS(guard.unlock(), weft::UsageError);
}

weft::Task<void> try_unlock(weft::Lock& lock, bool& refused) {
    try {
        lock.unlock();
    } catch (const weft::UsageError&) {
        refused = true;
    }
    co_return;
}

weft::Task<void> take_and_keep(weft::Lock& lock, bool& took) {
    took = lock.try_lock();
    co_return;
}

weft::Task<bool> lock_and_check_held(weft::Lock& lock) {
    auto held = co_await lock.lock();
    co_return lock.held_by_current_task();
}

weft::Task<void> hold_across_yields(weft::Lock& lock) {
    auto held = co_await lock.lock();
    co_await weft::yield_now();
    co_await weft::yield_now();
}

// A child awaited right after spawn() runs inline inside its joiner (the fork-join fast path),
// yet it is a task of its own: it does not hold its joiner's lock, nor the joiner its lock.
weft::Task<void> inline_child_is_not_the_holder() {
    weft::Lock lock;
    for (int i = 0; i < 100; ++i) {
        CHECK(lock.try_lock());
        bool refused = false;
        co_await weft::spawn(try_unlock(lock, refused));
        CHECK(refused);
        CHECK(lock.held_by_current_task());
        lock.unlock();
    }
    bool took = false;
    co_await weft::spawn(take_and_keep(lock, took));
    CHECK(took);
    CHECK(lock.locked());
    CHECK_FALSE(lock.held_by_current_task());
    CHECK_THROWS_WITH(lock.unlock(), Catch::Contains("held by another task"));
    // An inline child that waits for the lock and is handed it holds it itself.
    weft::Lock other;
    auto holder = weft::spawn(hold_across_yields(other));
    co_await weft::testing::until_waiters(other, 0);
    co_await weft::yield_now();  // the holder has it
    CHECK(other.locked());
    bool mine = co_await weft::spawn(lock_and_check_held(other));
    CHECK(mine);
    co_await holder;
    CHECK_FALSE(other.locked());
}

weft::Task<void> guard_moves() {
    weft::Lock lock;
    weft::Lock::Guard outer;
    {
        auto held = co_await lock.lock();
        outer = std::move(held);
        CHECK_FALSE(held.owns_lock());
    }
    CHECK(lock.locked());
    outer.unlock();
    CHECK_FALSE(lock.locked());
    CHECK_THROWS_AS(outer.unlock(), weft::UsageError);
}

weft::Task<void> count_under_lock(weft::Lock& lock, std::uint64_t& counter, int k, int yield_every) {
    for (int i = 0; i < k; ++i) {
        auto held = co_await lock.lock();
        std::uint64_t seen = counter;
        if (yield_every && i % yield_every == 0) co_await weft::yield_now();  // others must wait
        counter = seen + 1;
    }
}

weft::Task<std::uint64_t> many_incrementers(int tasks, int k, int yield_every) {
    weft::Lock lock;
    std::uint64_t counter = 0;
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(count_under_lock(lock, counter, k, yield_every)));
    for (auto& handle : handles) co_await handle;
    CHECK_FALSE(lock.locked());
    co_return counter;
}

test::EagerCoroutine lock_outside_weft(weft::Lock& lock, bool* refused) {
    try {
        auto held = co_await lock.lock();
    } catch (const weft::UsageError&) {
        *refused = true;
    }
}

}  // namespace

TEST_CASE("Lock: waiters get the lock one at a time in arrival order", "[sync][lock]") {
    weft::run(fifo_order(), test::one_worker());
}

TEST_CASE("Lock: unlock hands the lock to the first waiter, nobody barges", "[sync][lock]") {
    weft::run(no_barging(), test::one_worker());
}

TEST_CASE("Lock: a cancelled waiter never holds the lock", "[sync][lock][cancel]") {
    weft::run(cancelled_waiter_never_holds(), test::one_worker());
}

TEST_CASE("Lock: a waiter cancelled just after the hand-off throws and the lock comes back", "[sync][lock][cancel]") {
    weft::run(cancelled_at_hand_off(), test::one_worker());
}

TEST_CASE("Lock: wait_for() on lock() times out and leaves no waiter", "[sync][lock][cancel]") {
    weft::run(timeout_while_waiting(), test::paused_clock());
}

TEST_CASE("Lock: unlocking a lock you do not hold throws UsageError", "[sync][lock]") {
    weft::run(unlock_misuse(), test::one_worker());
}

TEST_CASE("Lock: a child running inline in its joiner neither holds nor unlocks the joiner's lock", "[sync][lock]") {
    weft::run(inline_child_is_not_the_holder(), test::one_worker());
}

TEST_CASE("Lock: guards move and unlock once", "[sync][lock]") { weft::run(guard_moves(), test::one_worker()); }

TEST_CASE("Lock: try_lock/unlock from a plain thread, lock() outside a task throws when it would wait",
          "[sync][lock]") {
    weft::Lock lock;
    REQUIRE(lock.try_lock());
    REQUIRE(lock.held_by_current_task());
    bool refused = false;
    lock_outside_weft(lock, &refused);  // runs to its end right here
    CHECK(refused);
    lock.unlock();
    CHECK_FALSE(lock.locked());
}

TEST_CASE("Lock: exact count under contention", "[sync][lock][stress]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const int tasks = test::scaled(1000, 100);
    const int k = test::scaled(1000, 100);
    SECTION("critical sections without awaits") {
        CHECK(weft::run(many_incrementers(tasks, k, 0), test::workers(workers)) == std::uint64_t(tasks) * k);
    }
    SECTION("critical sections that suspend") {
        CHECK(weft::run(many_incrementers(tasks / 10, k, 7), test::workers(workers)) == std::uint64_t(tasks / 10) * k);
    }
}
