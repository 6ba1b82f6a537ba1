// weft::SharedLock on one worker, step by step: readers share, a writer waits for them,
// readers arriving behind a waiting writer queue behind it, a cancelled writer lets them
// through, misuse; then readers and writers on several workers with exact counts.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

namespace {

weft::Task<void> readers_share_writers_wait() {
    weft::SharedLock lock;
    std::string log;
    weft::Event release_readers, release_writer, release_late;
    auto r1 = weft::spawn(test::read_until(lock, 'r', log, release_readers));
    auto r2 = weft::spawn(test::read_until(lock, 'r', log, release_readers));
    co_await test::settle();
    CHECK(log == "rr");
    CHECK(lock.readers() == 2);
    CHECK_FALSE(lock.try_lock());
    auto w = weft::spawn(test::write_until(lock, 'W', log, release_writer));
    co_await weft::testing::until_waiters(lock, 1);
    auto late = weft::spawn(test::read_until(lock, 'l', log, release_late));  // behind the writer
    co_await weft::testing::until_waiters(lock, 2);
    CHECK_FALSE(lock.try_lock_shared());
    CHECK(log == "rr");
    release_readers.set();
    co_await r1;
    co_await r2;
    co_await test::settle();
    CHECK(log == "rrW");
    CHECK(lock.locked());
    CHECK(lock.readers() == 0);
    release_writer.set();
    co_await w;
    co_await test::settle();
    CHECK(log == "rrWl");
    release_late.set();
    co_await late;
    CHECK(lock.try_lock());
    lock.unlock();
}

weft::Task<void> cancelled_writer_lets_readers_in() {
    weft::SharedLock lock;
    std::string log;
    weft::Event done;
    auto reading = co_await lock.lock_shared();
    auto w = weft::spawn(test::write_until(lock, 'W', log, done));
    co_await weft::testing::until_waiters(lock, 1);
    auto r = weft::spawn(test::read_until(lock, 'r', log, done));
    co_await weft::testing::until_waiters(lock, 2);
    w.cancel();
    co_await test::expect_cancelled(std::move(w));
    co_await test::settle();
    CHECK(log == "r");  // no writer ahead any more: it joined the readers
    CHECK(lock.readers() == 2);
    done.set();
    co_await r;
}

weft::Task<void> misuse() {
    weft::SharedLock lock;
    CHECK_THROWS_AS(lock.unlock(), weft::UsageError);
    CHECK_THROWS_AS(lock.unlock_shared(), weft::UsageError);
    std::atomic<bool> taken{false};
    auto other = weft::spawn([](weft::SharedLock& l, std::atomic<bool>& flag) -> weft::Task<void> {
        CHECK(l.try_lock());
        flag = true;
        co_return;
    }(lock, taken));
    while (!taken) co_await weft::yield_now();
    co_await other;
    CHECK_THROWS_WITH(lock.unlock(), Catch::Contains("another task"));
}

struct Table {
    weft::SharedLock lock;
    std::uint64_t a = 0, b = 0;  // a writer keeps them equal
    std::atomic<std::uint64_t> torn{0};
    std::atomic<int> writers_inside{0};
    std::atomic<std::uint64_t> reads{0};
};

weft::Task<void> reader(Table& t, int times) {
    for (int i = 0; i < times; ++i) {
        auto reading = co_await t.lock.lock_shared();
        if (t.a != t.b || t.writers_inside.load() != 0) t.torn.fetch_add(1);
        if (i % 4 == 0) co_await weft::yield_now();
        t.reads.fetch_add(1, std::memory_order_relaxed);
    }
}

weft::Task<void> writer(Table& t, int times) {
    for (int i = 0; i < times; ++i) {
        auto writing = co_await t.lock.lock();
        if (t.writers_inside.fetch_add(1) != 0) t.torn.fetch_add(1);
        ++t.a;
        if (i % 3 == 0) co_await weft::yield_now();
        ++t.b;
        t.writers_inside.fetch_sub(1);
    }
}

weft::Task<void> mixed(int readers, int writers, int times) {
    Table t;
    std::vector<weft::JoinHandle<void>> tasks;
    for (int i = 0; i < readers + writers; ++i)
        tasks.push_back(weft::spawn(i % (readers / writers + 1) == 0 ? writer(t, times) : reader(t, times)));
    for (auto& task : tasks) co_await task;
    CHECK(t.torn.load() == 0);
    CHECK(t.a == t.b);
    CHECK(t.a + t.reads.load() == std::uint64_t(readers + writers) * std::uint64_t(times));
    CHECK_FALSE(t.lock.locked());
    CHECK(t.lock.readers() == 0);
}

}  // namespace

TEST_CASE("SharedLock: readers share, a writer waits, later readers queue behind it", "[sync][shared_lock]") {
    weft::run(readers_share_writers_wait(), test::one_worker());
}

TEST_CASE("SharedLock: cancelling a waiting writer lets the readers behind it in", "[sync][shared_lock][cancel]") {
    weft::run(cancelled_writer_lets_readers_in(), test::one_worker());
}

TEST_CASE("SharedLock: unlocking what you do not hold throws UsageError", "[sync][shared_lock]") {
    weft::run(misuse(), test::one_worker());
}

TEST_CASE("SharedLock: readers and writers on several workers", "[sync][shared_lock][stress]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    weft::run(mixed(40, 10, test::scaled(500, 60)), test::workers(workers));
}
