// asyncio's `_must_cancel` rule for weft::sync: a cancel() that returned true takes effect even
// when the permit, lock, item, notification or event reached the waiter before it got to run.
// The waiter then ends its wait with CancelledError and what it was granted goes on to the next
// waiter (or back), never lost, never duplicated. Step by step on one worker first ("granted,
// then cancelled before it runs" arranged exactly), then storms on 2 and 4 workers in which
// every task whose cancel() returned true must end cancelled and every permit/item is counted.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "support/random.hpp"
#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

namespace {

// ---- step by step, one worker -------------------------------------------------------------

weft::Task<void> acquire_and_log(weft::Semaphore& sem, char name, std::string& log) {
    auto permit = co_await sem.acquire();
    log.push_back(name);
}

weft::Task<void> semaphore_grant_then_cancel() {
    weft::Semaphore sem(0);
    std::string log;
    auto a = weft::spawn(acquire_and_log(sem, 'a', log));
    co_await weft::testing::until_waiters(sem, 1);
    auto b = weft::spawn(acquire_and_log(sem, 'b', log));
    co_await weft::testing::until_waiters(sem, 2);
    sem.release();            // granted to a, which has not run yet...
    CHECK(a.cancel());        // ...and is cancelled: it must not keep the permit
    co_await test::expect_cancelled(std::move(a));
    co_await b;               // the permit went on to b
    CHECK(log == "b");
    CHECK(sem.value() == 1);
    // With nobody else waiting, the permit goes back to the count.
    auto c = weft::spawn(acquire_and_log(sem, 'c', log));
    auto held = co_await sem.acquire();
    co_await weft::testing::until_waiters(sem, 1);
    held.release();
    CHECK(c.cancel());
    co_await test::expect_cancelled(std::move(c));
    CHECK(log == "b");
    CHECK(sem.value() == 1);
    CHECK_FALSE(sem.locked());
}

weft::Task<void> lock_and_log(weft::Lock& lock, char name, std::string& log) {
    auto held = co_await lock.lock();
    log.push_back(name);
}

weft::Task<void> lock_hand_off_then_cancel() {
    weft::Lock lock;
    std::string log;
    auto held = co_await lock.lock();
    auto a = weft::spawn(lock_and_log(lock, 'a', log));
    co_await weft::testing::until_waiters(lock, 1);
    auto b = weft::spawn(lock_and_log(lock, 'b', log));
    co_await weft::testing::until_waiters(lock, 2);
    held.unlock();       // handed to a...
    CHECK(a.cancel());   // ...cancelled before it runs
    co_await test::expect_cancelled(std::move(a));
    co_await b;          // the lock went on to b
    CHECK(log == "b");
    CHECK_FALSE(lock.locked());
    // Nobody else waiting: the lock ends free.
    held = co_await lock.lock();
    auto c = weft::spawn(lock_and_log(lock, 'c', log));
    co_await weft::testing::until_waiters(lock, 1);
    held.unlock();
    CHECK(c.cancel());
    co_await test::expect_cancelled(std::move(c));
    CHECK(log == "b");
    CHECK_FALSE(lock.locked());
    CHECK(lock.try_lock());
    lock.unlock();
}

weft::Task<void> get_and_log(weft::Queue<int>& q, std::vector<int>& got) {
    int v = co_await q.get();
    got.push_back(v);
}

weft::Task<void> queue_get_hand_off_then_cancel(std::size_t maxsize) {
    weft::Queue<int> q(maxsize);
    std::vector<int> got;
    auto a = weft::spawn(get_and_log(q, got));
    co_await weft::testing::until_waiters(q, 1);
    auto b = weft::spawn(get_and_log(q, got));
    co_await weft::testing::until_waiters(q, 2);
    q.put_nowait(7);     // handed to a...
    CHECK(a.cancel());   // ...cancelled before it runs
    co_await test::expect_cancelled(std::move(a));
    co_await b;          // the item went on to b
    CHECK(got == std::vector<int>{7});
    CHECK(q.empty());
    // Nobody else waiting: the item goes back into the queue.
    auto c = weft::spawn(get_and_log(q, got));
    co_await weft::testing::until_waiters(q, 1);
    q.put_nowait(8);
    CHECK(c.cancel());
    co_await test::expect_cancelled(std::move(c));
    CHECK(got == std::vector<int>{7});
    CHECK(q.qsize() == 1);
    CHECK(q.get_nowait() == 8);
    // task_done/join accounting still adds up: two items were put, two are done.
    q.task_done();
    q.task_done();
    CHECK(q.unfinished_tasks() == 0);
    CHECK_THROWS_AS(q.task_done(), weft::UsageError);
}

weft::Task<void> put_and_log(weft::Queue<int>& q, int v, std::vector<int>& put) {
    co_await q.put(v);
    put.push_back(v);
}

weft::Task<void> queue_put_cancel_then_room() {
    weft::Queue<int> q(1);
    std::vector<int> put;
    co_await q.put(1);
    auto a = weft::spawn(put_and_log(q, 2, put));
    co_await weft::testing::until_waiters(q, 1);
    CHECK(a.cancel());  // cancelled while it waits for room (it has not run since)
    {
        auto got = co_await q.get();  // makes room: a's put must not take it
        CHECK(got == 1);
    }
    co_await test::expect_cancelled(std::move(a));
    CHECK(put.empty());
    CHECK(q.empty());   // 2 was never put
    // Room came first, then the cancel: the item is in, and the task still ends cancelled
    // (it finishes without another await: asyncio's rule for a task cancelled while it runs).
    co_await q.put(3);
    auto b = weft::spawn(put_and_log(q, 4, put));
    co_await weft::testing::until_waiters(q, 1);
    {
        auto got = co_await q.get();  // admits b's item
        CHECK(got == 3);
    }
    CHECK(b.cancel());
    co_await test::expect_cancelled(std::move(b));
    CHECK(q.qsize() == 1);
    CHECK(q.get_nowait() == 4);
}

weft::Task<void> wait_and_log(weft::Event& event, char name, std::string& log) {
    co_await event.wait();
    log.push_back(name);
}

weft::Task<void> event_set_then_cancel() {
    weft::Event event;
    std::string log;
    auto a = weft::spawn(wait_and_log(event, 'a', log));
    auto b = weft::spawn(wait_and_log(event, 'b', log));
    co_await weft::testing::until_waiters(event, 2);
    event.set();
    CHECK(a.cancel());
    co_await test::expect_cancelled(std::move(a));
    co_await b;
    CHECK(log == "b");
}

weft::Task<void> wait_notified(weft::Condition& cond, char name, std::string& log) {
    auto held = co_await cond.lock();
    try {
        co_await cond.wait();
    } catch (const weft::CancelledError&) {
        log += cond.underlying_lock().held_by_current_task() ? "held " : "NOT held ";
        throw;
    }
    log.push_back(name);
}

weft::Task<void> condition_notify_then_cancel() {
    weft::Condition cond;
    std::string log;
    auto a = weft::spawn(wait_notified(cond, 'a', log));
    co_await weft::testing::until_waiters(cond, 1);
    auto b = weft::spawn(wait_notified(cond, 'b', log));
    co_await weft::testing::until_waiters(cond, 2);
    {
        auto held = co_await cond.lock();
        cond.notify(1);     // notifies a...
        CHECK(a.cancel());  // ...cancelled before it runs: the notification goes on to b
    }
    co_await test::expect_cancelled(std::move(a));
    co_await test::settle();
    CHECK(weft::testing::waiters(cond) == 0);  // b was notified in a's place
    if (weft::testing::waiters(cond) != 0) {   // (without the fix: free b)
        auto held = co_await cond.lock();
        cond.notify_all();
    }
    co_await b;
    CHECK(log == "held b");
    CHECK_FALSE(cond.locked());
}

template <bool Shared>
weft::Task<void> shared_lock_and_log(weft::SharedLock& lock, char name, std::string& log) {
    if constexpr (Shared) {
        auto reading = co_await lock.lock_shared();
        log.push_back(name);
    } else {
        auto writing = co_await lock.lock();
        log.push_back(name);
    }
}

// The write lock handed to a cancelled writer goes on to the readers behind it; a read lock
// handed to a cancelled reader is given back, so the writer behind it gets the lock.
weft::Task<void> shared_lock_grant_then_cancel() {
    weft::SharedLock lock;
    std::string log;
    {
        auto writing = co_await lock.lock();
        auto a = weft::spawn(shared_lock_and_log<false>(lock, 'a', log));
        co_await weft::testing::until_waiters(lock, 1);
        auto b = weft::spawn(shared_lock_and_log<true>(lock, 'b', log));
        co_await weft::testing::until_waiters(lock, 2);
        writing.unlock();   // the write lock goes to a...
        CHECK(a.cancel());  // ...cancelled before it runs: it goes on to b
        co_await test::expect_cancelled(std::move(a));
        co_await b;
        CHECK(log == "b");
    }
    CHECK_FALSE(lock.locked());
    CHECK(lock.readers() == 0);
    {
        auto writing = co_await lock.lock();
        auto c = weft::spawn(shared_lock_and_log<true>(lock, 'c', log));
        co_await weft::testing::until_waiters(lock, 1);
        auto d = weft::spawn(shared_lock_and_log<true>(lock, 'd', log));
        co_await weft::testing::until_waiters(lock, 2);
        auto e = weft::spawn(shared_lock_and_log<false>(lock, 'e', log));
        co_await weft::testing::until_waiters(lock, 3);
        writing.unlock();   // c and d read...
        CHECK(c.cancel());  // ...c cancelled before it runs gives its share back
        co_await test::expect_cancelled(std::move(c));
        co_await d;
        co_await e;         // so the writer behind them gets the lock
        CHECK(log == "bde");
    }
    CHECK_FALSE(lock.locked());
    CHECK(lock.readers() == 0);
}

weft::Task<void> latch_wait_and_log(weft::Latch& latch, char name, std::string& log) {
    co_await latch.wait();
    log.push_back(name);
}

weft::Task<void> latch_open_then_cancel() {
    weft::Latch latch(1);
    std::string log;
    auto a = weft::spawn(latch_wait_and_log(latch, 'a', log));
    auto b = weft::spawn(latch_wait_and_log(latch, 'b', log));
    co_await weft::testing::until_waiters(latch, 2);
    latch.count_down();
    CHECK(a.cancel());
    co_await test::expect_cancelled(std::move(a));
    co_await b;
    CHECK(log == "b");
}

weft::Task<void> barrier_wait_and_log(weft::Barrier& barrier, char name, std::string& log) {
    (void)co_await barrier.wait();
    log.push_back(name);
}

// The round passes for everyone (the barrier counts a as arrived), but a's cancel() returned
// true, so its wait ends cancelled (asyncio: a done future's waiter cancelled before it runs).
weft::Task<void> barrier_pass_then_cancel() {
    weft::Barrier barrier(3);
    std::string log;
    auto a = weft::spawn(barrier_wait_and_log(barrier, 'a', log));
    auto b = weft::spawn(barrier_wait_and_log(barrier, 'b', log));
    co_await weft::testing::until_waiters(barrier, 2);
    (void)co_await barrier.wait();  // the last party: the round passes
    CHECK(a.cancel());
    co_await test::expect_cancelled(std::move(a));
    co_await b;
    CHECK(log == "b");
}

// A task cancelled while it runs that then returns without another await ends cancelled; one
// that caught the CancelledError itself does not.
weft::Task<int> cancel_self_then_return(weft::JoinHandle<int>* self, bool await_after) {
    CHECK(self->cancel());  // running: the cancel is pending
    if (await_after) {
        try {
            co_await weft::yield_now();
        } catch (const weft::CancelledError&) {
            co_return 2;  // caught: the task goes on and finishes normally
        }
    }
    co_return 1;
}

weft::Task<void> cancelled_while_running() {
    for (bool await_after : {false, true}) {
        auto handle = std::make_unique<weft::JoinHandle<int>>();
        *handle = weft::spawn(cancel_self_then_return(handle.get(), await_after));
        co_await weft::yield_now();  // it runs as its own task (not inline in this join)
        co_await weft::yield_now();
        if (await_after) {
            int v = co_await *handle;
            CHECK(v == 2);
        } else {
            CHECK(handle->is_done());
            CHECK(handle->cancelled());
            co_await test::expect_cancelled(std::move(*handle));
        }
    }
}

// ---- storms, several workers --------------------------------------------------------------

// Per task: did a cancel() on it return true; how did it end.
struct Fate {
    std::atomic<bool> cancel_returned_true{false};
};

struct Tally {
    std::int64_t values = 0;
    std::int64_t cancelled = 0;
    std::int64_t cancel_true_but_value = 0;  // must stay 0: the bug
};

// Cancels random tasks of `handles` while they run, recording which cancel() returned true.
template <class T>
weft::Task<void> cancel_some(std::vector<weft::JoinHandle<T>>* handles, std::vector<Fate>* fates, std::uint64_t seed,
                             int kills) {
    for (int k = 0; k < kills; ++k) {
        std::uint64_t r = test::splitmix64(seed);
        if (r & 1) co_await weft::yield_now();
        std::size_t i = (r >> 8) % handles->size();
        if ((*handles)[i].cancel()) (*fates)[i].cancel_returned_true.store(true, std::memory_order_relaxed);
    }
}

template <class T>
weft::Task<Tally> tally(std::vector<weft::JoinHandle<T>>& handles, std::vector<Fate>& fates) {
    Tally tally;
    for (std::size_t i = 0; i < handles.size(); ++i) {
        bool cancelled = false;
        try {
            co_await handles[i];
        } catch (const weft::CancelledError&) {
            cancelled = true;
        }
        if (cancelled) {
            ++tally.cancelled;
        } else {
            ++tally.values;
            if (fates[i].cancel_returned_true.load(std::memory_order_relaxed)) ++tally.cancel_true_but_value;
        }
    }
    co_return tally;
}

struct SemaphoreRound {
    weft::Semaphore sem;
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    std::atomic<std::int64_t> entered{0};
    explicit SemaphoreRound(int permits) : sem(static_cast<std::size_t>(permits)) {}
};

weft::Task<void> semaphore_user(SemaphoreRound* round) {
    auto permit = co_await round->sem.acquire();
    int now = round->inside.fetch_add(1) + 1;
    int most = round->most.load();
    while (now > most && !round->most.compare_exchange_weak(most, now)) {
    }
    round->entered.fetch_add(1);
    struct Leave {
        SemaphoreRound* round;
        ~Leave() { round->inside.fetch_sub(1); }  // also when the yield throws
    } leave{round};
    co_await weft::yield_now();  // hold it across a suspension
}

weft::Task<Tally> semaphore_storm(int rounds, int tasks, int permits, std::uint64_t seed) {
    Tally total;
    for (int round_no = 0; round_no < rounds; ++round_no) {
        SemaphoreRound round(permits);
        std::vector<weft::JoinHandle<void>> handles;
        std::vector<Fate> fates(static_cast<std::size_t>(tasks));
        for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(semaphore_user(&round)));
        std::vector<weft::JoinHandle<void>> killers;
        for (int k = 0; k < 4; ++k)
            killers.push_back(weft::spawn(cancel_some(&handles, &fates, test::splitmix64(seed), tasks / 8)));
        for (auto& killer : killers) co_await killer;
        Tally t = co_await tally(handles, fates);
        CHECK(round.most.load() <= permits);
        CHECK(round.sem.value() == static_cast<std::size_t>(permits));  // no permit lost or made up
        CHECK(weft::testing::waiters(round.sem) == 0);
        total.values += t.values;
        total.cancelled += t.cancelled;
        total.cancel_true_but_value += t.cancel_true_but_value;
    }
    co_return total;
}

struct LockRound {
    weft::Lock lock;
    std::int64_t counter = 0;  // under the lock
};

weft::Task<void> lock_user(LockRound* round) {
    auto held = co_await round->lock.lock();
    std::int64_t seen = round->counter;
    if (seen % 3 == 0) co_await weft::yield_now();
    round->counter = seen + 1;
}

weft::Task<Tally> lock_storm(int rounds, int tasks, std::uint64_t seed) {
    Tally total;
    for (int round_no = 0; round_no < rounds; ++round_no) {
        LockRound round;
        std::vector<weft::JoinHandle<void>> handles;
        std::vector<Fate> fates(static_cast<std::size_t>(tasks));
        for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(lock_user(&round)));
        std::vector<weft::JoinHandle<void>> killers;
        for (int k = 0; k < 4; ++k)
            killers.push_back(weft::spawn(cancel_some(&handles, &fates, test::splitmix64(seed), tasks / 8)));
        for (auto& killer : killers) co_await killer;
        Tally t = co_await tally(handles, fates);
        CHECK_FALSE(round.lock.locked());
        CHECK(round.counter <= t.values + t.cancelled);
        total.values += t.values;
        total.cancelled += t.cancelled;
        total.cancel_true_but_value += t.cancel_true_but_value;
    }
    co_return total;
}

// Consumers take one item each and record it; producers put every item once. Exact: each item
// is recorded once by a consumer or is still in the queue at the end.
weft::Task<void> consumer(weft::Queue<int>* q, std::vector<std::atomic<int>>* seen) {
    int v = co_await q->get();
    (*seen)[static_cast<std::size_t>(v)].fetch_add(1);
}

weft::Task<void> producer(weft::Queue<int>* q, int first, int count) {
    for (int i = first; i < first + count; ++i) {
        co_await q->put(i);
        if (i % 4 == 0) co_await weft::yield_now();
    }
}

weft::Task<Tally> queue_storm(int rounds, int consumers, std::size_t maxsize, std::uint64_t seed) {
    Tally total;
    for (int round_no = 0; round_no < rounds; ++round_no) {
        weft::Queue<int> q(maxsize);
        std::vector<std::atomic<int>> seen(static_cast<std::size_t>(consumers));
        std::vector<weft::JoinHandle<void>> handles;
        std::vector<Fate> fates(static_cast<std::size_t>(consumers));
        for (int i = 0; i < consumers; ++i) handles.push_back(weft::spawn(consumer(&q, &seen)));
        std::vector<weft::JoinHandle<void>> helpers;
        const int producers = 4;
        for (int p = 0; p < producers; ++p)
            helpers.push_back(weft::spawn(producer(&q, p * consumers / producers, consumers / producers)));
        for (int k = 0; k < 4; ++k)
            helpers.push_back(weft::spawn(cancel_some(&handles, &fates, test::splitmix64(seed), consumers / 8)));
        // Consumers still waiting once the items ran out are cancelled below; keep the
        // producers from blocking on a full queue meanwhile by draining only after they end.
        for (auto& helper : helpers) {
            while (!helper.is_done()) {
                if (q.full()) {
                    // Everyone left waits in put(): the consumers that would take items were
                    // cancelled. Take one out and count it as seen here. (Consumers on other
                    // workers may have emptied it since full(): the check build's random
                    // yields made that happen once.)
                    try {
                        int v = q.get_nowait();
                        seen[static_cast<std::size_t>(v)].fetch_add(1);
                    } catch (const weft::QueueEmpty&) {
                    }
                }
                co_await weft::yield_now();
            }
            co_await helper;
        }
        for (auto& handle : handles) handle.cancel();  // those still waiting for an item
        Tally t = co_await tally(handles, fates);
        while (!q.empty()) {
            int v = q.get_nowait();
            seen[static_cast<std::size_t>(v)].fetch_add(1);
        }
        int lost = 0, duplicated = 0;
        for (auto& count : seen) {
            if (count.load() == 0) ++lost;
            if (count.load() > 1) ++duplicated;
        }
        CHECK(lost == 0);
        CHECK(duplicated == 0);
        CHECK(weft::testing::waiters(q) == 0);
        total.values += t.values;
        total.cancelled += t.cancelled;
        total.cancel_true_but_value += t.cancel_true_but_value;
    }
    co_return total;
}

weft::Task<void> event_user(weft::Event* event) { co_await event->wait(); }

weft::Task<Tally> event_storm(int rounds, int tasks, std::uint64_t seed) {
    Tally total;
    for (int round_no = 0; round_no < rounds; ++round_no) {
        weft::Event event;
        std::vector<weft::JoinHandle<void>> handles;
        std::vector<Fate> fates(static_cast<std::size_t>(tasks));
        for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(event_user(&event)));
        std::vector<weft::JoinHandle<void>> killers;
        for (int k = 0; k < 4; ++k)
            killers.push_back(weft::spawn(cancel_some(&handles, &fates, test::splitmix64(seed), tasks / 8)));
        co_await weft::yield_now();
        event.set();
        for (auto& killer : killers) co_await killer;
        Tally t = co_await tally(handles, fates);
        total.values += t.values;
        total.cancelled += t.cancelled;
        total.cancel_true_but_value += t.cancel_true_but_value;
    }
    co_return total;
}

}  // namespace

TEST_CASE("cancel after grant: a Semaphore waiter granted then cancelled before it runs passes the permit on",
          "[sync][semaphore][cancel]") {
    weft::run(semaphore_grant_then_cancel(), test::one_worker());
}

TEST_CASE("cancel after grant: a Lock handed to a waiter cancelled before it runs goes on", "[sync][lock][cancel]") {
    weft::run(lock_hand_off_then_cancel(), test::one_worker());
}

TEST_CASE("cancel after grant: an item handed to a cancelled getter goes on or back", "[sync][queue][cancel]") {
    const std::size_t maxsize = GENERATE(std::size_t{0}, std::size_t{4});
    weft::run(queue_get_hand_off_then_cancel(maxsize), test::one_worker());
}

TEST_CASE("cancel after grant: a putter cancelled before room came puts nothing", "[sync][queue][cancel]") {
    weft::run(queue_put_cancel_then_room(), test::one_worker());
}

TEST_CASE("cancel after grant: an Event waiter cancelled after set() ends cancelled", "[sync][event][cancel]") {
    weft::run(event_set_then_cancel(), test::one_worker());
}

TEST_CASE("cancel after grant: a Condition waiter notified then cancelled passes the notification on",
          "[sync][condition][cancel]") {
    weft::run(condition_notify_then_cancel(), test::one_worker());
}

TEST_CASE("cancel after grant: a SharedLock granted to a waiter cancelled before it runs goes on",
          "[sync][shared_lock][cancel]") {
    weft::run(shared_lock_grant_then_cancel(), test::one_worker());
}

TEST_CASE("cancel after grant: a Latch waiter cancelled after the latch opened ends cancelled",
          "[sync][latch][cancel]") {
    weft::run(latch_open_then_cancel(), test::one_worker());
}

TEST_CASE("cancel after grant: a Barrier party cancelled after its round passed ends cancelled",
          "[sync][barrier][cancel]") {
    weft::run(barrier_pass_then_cancel(), test::one_worker());
}

TEST_CASE("a task cancelled while it runs that returns without another await ends cancelled", "[cancel]") {
    weft::run(cancelled_while_running(), test::one_worker());
}

TEST_CASE("cancel storm: every Semaphore waiter whose cancel() returned true ends cancelled, no permit lost",
          "[sync][semaphore][cancel][stress]") {
    const unsigned workers = GENERATE(2u, 4u);
    const int permits = GENERATE(1, 3);
    Tally t =
        weft::run(semaphore_storm(test::scaled(200, 20), 200, permits, 0xA11CE + workers), test::workers(workers));
    CHECK(t.cancel_true_but_value == 0);
    CHECK(t.cancelled > 0);
    CHECK(t.values > 0);
}

TEST_CASE("cancel storm: every Lock waiter whose cancel() returned true ends cancelled, the lock ends free",
          "[sync][lock][cancel][stress]") {
    const unsigned workers = GENERATE(2u, 4u);
    Tally t = weft::run(lock_storm(test::scaled(200, 20), 200, 0xB0B + workers), test::workers(workers));
    CHECK(t.cancel_true_but_value == 0);
    CHECK(t.cancelled > 0);
    CHECK(t.values > 0);
}

TEST_CASE("cancel storm: every consumer whose cancel() returned true ends cancelled, every item once",
          "[sync][queue][cancel][stress]") {
    const unsigned workers = GENERATE(2u, 4u);
    const std::size_t maxsize = GENERATE(std::size_t{0}, std::size_t{8});
    Tally t = weft::run(queue_storm(test::scaled(200, 20), 200, maxsize, 0xC0DE + workers), test::workers(workers));
    CHECK(t.cancel_true_but_value == 0);
    CHECK(t.cancelled > 0);
    CHECK(t.values > 0);
}

TEST_CASE("cancel storm: every Event waiter whose cancel() returned true ends cancelled",
          "[sync][event][cancel][stress]") {
    const unsigned workers = GENERATE(2u, 4u);
    Tally t = weft::run(event_storm(test::scaled(200, 20), 200, 0xE7E + workers), test::workers(workers));
    CHECK(t.cancel_true_but_value == 0);
    CHECK(t.cancelled > 0);
}
