// The permit core under Lock, Semaphore and SharedLock (detail/permits.hpp): what the shared
// layer could break that the per-primitive suites do not reach. Step by step on one worker: a
// cancelled writer at the head of the queue lets the readers behind it in but not the writer
// after them; a writer granted by the last reader out and cancelled before it runs passes the
// lock to every reader behind it; a writer cancelled behind a writer changes nothing until the
// holder leaves; a BoundedSemaphore(0) refuses a release even with a waiter (asyncio); ready
// acquires spend the cooperative budget (SharedLock's did not before the core). Then a
// SharedLock cancel storm on several workers: exclusion holds, nothing leaks, every task whose
// cancel() returned true ends cancelled.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

namespace {

// Tasks granted together run in either order: compare what ran, not the order.
std::string sorted(std::string log) {
    std::sort(log.begin(), log.end());
    return log;
}

// Readers a, b read; queue: W (writer), c (reader), X (writer), d (reader). Cancelling W lets
// c in at once, but X still waits for a, b and c, and d stays behind X.
weft::Task<void> cancelled_head_writer_lets_readers_in_not_the_next_writer() {
    weft::SharedLock lock;
    std::string log;
    weft::Event a_done, b_done, c_done, x_done, d_done, never;
    auto a = weft::spawn(test::read_until(lock, 'a', log, a_done));
    auto b = weft::spawn(test::read_until(lock, 'b', log, b_done));
    co_await test::settle();
    auto w = weft::spawn(test::write_until(lock, 'W', log, never));
    co_await weft::testing::until_waiters(lock, 1);
    auto c = weft::spawn(test::read_until(lock, 'c', log, c_done));
    co_await weft::testing::until_waiters(lock, 2);
    auto x = weft::spawn(test::write_until(lock, 'X', log, x_done));
    co_await weft::testing::until_waiters(lock, 3);
    auto d = weft::spawn(test::read_until(lock, 'd', log, d_done));
    co_await weft::testing::until_waiters(lock, 4);
    CHECK(sorted(log) == "ab");

    CHECK(w.cancel());
    co_await test::expect_cancelled(std::move(w));
    co_await test::settle();
    CHECK(sorted(log) == "abc");  // c no longer waits behind a writer
    CHECK(lock.readers() == 3);
    CHECK(weft::testing::waiters(lock) == 2);  // X, then d behind it
    CHECK_FALSE(lock.try_lock_shared());       // a writer still waits: no barging
    CHECK_FALSE(lock.try_lock());

    a_done.set();
    co_await a;
    b_done.set();
    co_await b;
    co_await test::settle();
    CHECK(log.size() == 3);  // X waits for c too
    CHECK(lock.readers() == 1);
    c_done.set();
    co_await c;
    co_await test::settle();
    CHECK(log.size() == 4);
    CHECK(log.back() == 'X');
    CHECK(lock.locked());
    CHECK(weft::testing::waiters(lock) == 1);
    x_done.set();
    co_await x;
    co_await test::settle();
    CHECK(log.size() == 5);
    CHECK(log.back() == 'd');
    CHECK(lock.readers() == 1);
    d_done.set();
    co_await d;
    CHECK(lock.readers() == 0);
    CHECK_FALSE(lock.locked());
    CHECK(weft::testing::waiters(lock) == 0);
}

// This task reads; queue: W, b, c. It leaves: the last reader out grants the lock to W, which
// is cancelled before it runs: b and c both get in, and a later writer gets it after them.
weft::Task<void> writer_granted_by_last_reader_then_cancelled() {
    weft::SharedLock lock;
    std::string log;
    weft::Event never, bc_done, y_done;
    auto reading = co_await lock.lock_shared();
    auto w = weft::spawn(test::write_until(lock, 'W', log, never));
    co_await weft::testing::until_waiters(lock, 1);
    auto b = weft::spawn(test::read_until(lock, 'b', log, bc_done));
    co_await weft::testing::until_waiters(lock, 2);
    auto c = weft::spawn(test::read_until(lock, 'c', log, bc_done));
    co_await weft::testing::until_waiters(lock, 3);
    reading.unlock();  // the lock goes to W...
    CHECK(lock.locked());
    CHECK(w.cancel());  // ...cancelled before it runs: it goes on to b and c
    co_await test::expect_cancelled(std::move(w));
    co_await test::settle();
    CHECK(sorted(log) == "bc");
    CHECK(lock.readers() == 2);
    CHECK_FALSE(lock.locked());
    auto y = weft::spawn(test::write_until(lock, 'Y', log, y_done));
    co_await weft::testing::until_waiters(lock, 1);
    bc_done.set();
    co_await b;
    co_await c;
    co_await test::settle();
    CHECK(log.size() == 3);
    CHECK(log.back() == 'Y');
    y_done.set();
    co_await y;
    CHECK_FALSE(lock.locked());
    CHECK(lock.readers() == 0);
}

// Writer V holds; queue: W, a, b. Cancelling W changes nothing while V holds; V's unlock lets
// both readers in together.
weft::Task<void> writer_cancelled_behind_a_writer() {
    weft::SharedLock lock;
    std::string log;
    weft::Event never, ab_done;
    auto holding = co_await lock.lock();
    auto w = weft::spawn(test::write_until(lock, 'W', log, never));
    co_await weft::testing::until_waiters(lock, 1);
    auto a = weft::spawn(test::read_until(lock, 'a', log, ab_done));
    co_await weft::testing::until_waiters(lock, 2);
    auto b = weft::spawn(test::read_until(lock, 'b', log, ab_done));
    co_await weft::testing::until_waiters(lock, 3);
    CHECK(w.cancel());
    co_await test::expect_cancelled(std::move(w));
    co_await test::settle();
    CHECK(log.empty());
    CHECK(weft::testing::waiters(lock) == 2);
    CHECK(lock.locked());
    holding.unlock();
    co_await test::settle();
    CHECK(sorted(log) == "ab");
    CHECK(lock.readers() == 2);
    ab_done.set();
    co_await a;
    co_await b;
    CHECK(lock.readers() == 0);
}

weft::Task<void> acquire_then_set(weft::Semaphore& sem, bool& got) {
    auto permit = co_await sem.acquire();
    got = true;
}

// asyncio's BoundedSemaphore checks the count before it grants: with an initial value of 0,
// release() throws even though a waiter could take the permit, and the waiter keeps waiting.
weft::Task<void> bounded_zero_refuses_release_with_a_waiter() {
    weft::BoundedSemaphore sem(0);
    bool got = false;
    auto waiter = weft::spawn(acquire_then_set(sem, got));
    co_await weft::testing::until_waiters(sem, 1);
    CHECK_THROWS_WITH(sem.release(), Catch::Contains("released too many times"));
    co_await test::settle();
    CHECK_FALSE(got);
    CHECK(weft::testing::waiters(sem) == 1);
    CHECK(waiter.cancel());
    co_await test::expect_cancelled(std::move(waiter));
    CHECK(sem.value() == 0);
    CHECK(weft::testing::waiters(sem) == 0);
}

// ---- the cooperative budget ---------------------------------------------------------------------

// Far more ready acquires than a 1 ms sleep needs: reaching it means the timer was starved.
constexpr std::int64_t kGiveUp = 20'000'000;

enum class Ready { semaphore, read, write };

weft::Task<void> sleep_then_mark(std::atomic<bool>* done) {
    co_await weft::sleep(std::chrono::milliseconds(1));
    done->store(true);
}

// Acquires that never wait, in a loop, on the only worker: every permit awaiter spends the
// budget, so after 128 of them it yields and the sleeper's timer fires.
weft::Task<std::int64_t> spin_on(Ready kind, std::atomic<bool>* done) {
    weft::Semaphore sem(1);
    weft::SharedLock lock;
    std::int64_t spins = 0;
    while (!done->load() && spins < kGiveUp) {
        if (kind == Ready::semaphore) {
            auto permit = co_await sem.acquire();
        } else if (kind == Ready::read) {
            auto reading = co_await lock.lock_shared();
        } else {
            auto writing = co_await lock.lock();
        }
        ++spins;
    }
    co_return spins;
}

weft::Task<bool> timer_runs_while_spinning(Ready kind) {
    std::atomic<bool> done{false};
    auto sleeper = weft::spawn(sleep_then_mark(&done));
    co_await weft::yield_now();  // the sleeper's timer is armed
    std::int64_t spins = co_await weft::spawn(spin_on(kind, &done));
    co_await sleeper;
    CHECK(spins < kGiveUp);
    co_return done.load();
}

// ---- a SharedLock cancel storm, several workers ----------------------------------------------

std::uint64_t splitmix(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct StormRound {
    weft::SharedLock lock;
    std::atomic<int> readers_inside{0};
    std::atomic<int> writers_inside{0};
    std::atomic<int> broken{0};  // a writer saw anybody else inside: must stay 0
    std::atomic<std::int64_t> entered{0};
};

struct Inside {
    std::atomic<int>* count;
    ~Inside() { count->fetch_sub(1); }  // also when the yield throws
};

weft::Task<void> storm_user(StormRound* round, bool writer) {
    if (writer) {
        auto writing = co_await round->lock.lock();
        if (round->writers_inside.fetch_add(1) != 0 || round->readers_inside.load() != 0) round->broken.fetch_add(1);
        Inside inside{&round->writers_inside};
        round->entered.fetch_add(1);
        co_await weft::yield_now();  // hold it across a suspension
        if (round->readers_inside.load() != 0) round->broken.fetch_add(1);
    } else {
        auto reading = co_await round->lock.lock_shared();
        round->readers_inside.fetch_add(1);
        if (round->writers_inside.load() != 0) round->broken.fetch_add(1);
        Inside inside{&round->readers_inside};
        round->entered.fetch_add(1);
        co_await weft::yield_now();
    }
}

weft::Task<void> cancel_some(std::vector<weft::JoinHandle<void>>* handles, std::vector<std::atomic<bool>>* cancelled,
                             std::uint64_t seed, int kills) {
    for (int k = 0; k < kills; ++k) {
        std::uint64_t r = splitmix(seed);
        if (r & 1) co_await weft::yield_now();
        std::size_t i = (r >> 8) % handles->size();
        if ((*handles)[i].cancel()) (*cancelled)[i].store(true, std::memory_order_relaxed);
    }
}

struct StormTally {
    std::int64_t finished = 0, cancelled = 0, cancel_true_but_finished = 0, broken = 0;
};

weft::Task<StormTally> shared_lock_storm(int rounds, int tasks, std::uint64_t seed) {
    StormTally total;
    for (int round_no = 0; round_no < rounds; ++round_no) {
        StormRound round;
        std::vector<weft::JoinHandle<void>> handles;
        std::vector<std::atomic<bool>> cancel_true(static_cast<std::size_t>(tasks));
        for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(storm_user(&round, splitmix(seed) % 4 == 0)));
        std::vector<weft::JoinHandle<void>> killers;
        for (int k = 0; k < 4; ++k)
            killers.push_back(weft::spawn(cancel_some(&handles, &cancel_true, splitmix(seed), tasks / 8)));
        for (auto& killer : killers) co_await killer;
        std::int64_t finished_before = total.finished;
        for (std::size_t i = 0; i < handles.size(); ++i) {
            bool cancelled = false;
            try {
                co_await handles[i];
            } catch (const weft::CancelledError&) {
                cancelled = true;
            }
            if (cancelled) {
                ++total.cancelled;
            } else {
                ++total.finished;
                if (cancel_true[i].load(std::memory_order_relaxed)) ++total.cancel_true_but_finished;
            }
        }
        total.broken += round.broken.load();
        CHECK(round.entered.load() >= total.finished - finished_before);  // every finished task was inside
        // Nothing leaked: the lock is free, for a writer too, and nobody waits.
        CHECK_FALSE(round.lock.locked());
        CHECK(round.lock.readers() == 0);
        CHECK(weft::testing::waiters(round.lock) == 0);
        CHECK(round.lock.try_lock());
        round.lock.unlock();
    }
    co_return total;
}

}  // namespace

TEST_CASE("permits: a cancelled head writer lets the readers behind it in, not the writer after them",
          "[sync][shared_lock][cancel]") {
    weft::run(cancelled_head_writer_lets_readers_in_not_the_next_writer(), test::one_worker());
}

TEST_CASE("permits: a writer granted by the last reader out and cancelled before it runs lets the readers in",
          "[sync][shared_lock][cancel]") {
    weft::run(writer_granted_by_last_reader_then_cancelled(), test::one_worker());
}

TEST_CASE("permits: a writer cancelled behind a writer changes nothing until the holder leaves",
          "[sync][shared_lock][cancel]") {
    weft::run(writer_cancelled_behind_a_writer(), test::one_worker());
}

TEST_CASE("permits: BoundedSemaphore(0) refuses a release even with a waiter", "[sync][semaphore]") {
    weft::run(bounded_zero_refuses_release_with_a_waiter(), test::one_worker());
}

TEST_CASE("permits: ready acquires spend the cooperative budget (a spinning reader lets the worker's timers run)",
          "[sync][shared_lock][semaphore][budget]") {
    const Ready kind = GENERATE(Ready::semaphore, Ready::read, Ready::write);
    CAPTURE(static_cast<int>(kind));
    bool fired = weft::run(timer_runs_while_spinning(kind), {.workers = 1});
    CHECK(fired);
}

TEST_CASE("permits: SharedLock cancel storm: exclusion holds, nothing leaks, cancel() true ends cancelled",
          "[sync][shared_lock][cancel][stress]") {
    const unsigned workers = GENERATE(2u, 4u);
    StormTally t = weft::run(shared_lock_storm(test::scaled(100, 15), 200, 0x5EED + workers), test::workers(workers));
    CHECK(t.broken == 0);
    CHECK(t.cancel_true_but_finished == 0);
    CHECK(t.cancelled > 0);
    CHECK(t.finished > 0);
}
