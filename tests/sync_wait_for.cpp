// wait_for on any awaitable (timeout.hpp): a queue get, a lock, a semaphore, an event, a stream
// read, a Shielded task. At the deadline the inner wait is cancelled and nothing is lost: the
// queue keeps its item, the semaphore its permit, the lock ends free. Step by step on the paused
// clock first (exact instants), then storms on 2 workers whose timeouts fire at random, with
// every item and permit counted.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "support/clock.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

static_assert(!weft::detail::awaitable<int>);
static_assert(weft::detail::awaitable<weft::Task<int>>);
static_assert(!weft::detail::awaitable<weft::Task<int>&>);  // a Task is awaited as an rvalue
static_assert(std::is_same_v<weft::detail::await_result_t<weft::Lock::Awaiter>, weft::Lock::Guard>);

// ---- step by step, paused clock ------------------------------------------------------------

weft::Task<void> queue_get_times_out_item_stays() {
    weft::Queue<int> q;
    const auto start = weft::now();
    bool timed_out = false;
    try {
        (void)co_await weft::wait_for(q.get(), 100ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(test::ms_since(start) == 100);
    CHECK(weft::testing::waiters(q) == 0);  // the cancelled get left the queue
    q.put_nowait(7);
    CHECK(q.qsize() == 1);  // and takes nothing
    int got = co_await weft::wait_for(q.get(), 100ms);
    CHECK(got == 7);
}

weft::Task<void> put_after(weft::Queue<int>& q, int value, std::chrono::milliseconds delay) {
    co_await weft::sleep(delay);
    q.put_nowait(value);
}

weft::Task<void> queue_get_in_time() {
    weft::Queue<int> q;
    const auto start = weft::now();
    auto producer = weft::spawn(put_after(q, 5, 30ms));
    int got = co_await weft::wait_for(q.get(), 100ms);
    CHECK(got == 5);
    CHECK(test::ms_since(start) == 30);
    co_await producer;
    co_await weft::sleep(200ms);  // the disarmed deadline fires nothing later
    CHECK(q.empty());
}

// The item arrives at the very instant of the deadline: whichever runs first, the getter
// raises TimeoutError and the item stays in the queue (handed over, then passed back).
weft::Task<void> queue_item_at_the_deadline() {
    weft::Queue<int> q;
    auto producer = weft::spawn(put_after(q, 9, 100ms));
    bool timed_out = false;
    int got = -1;
    try {
        got = co_await weft::wait_for(q.get(), 100ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    co_await producer;
    if (timed_out) {
        CHECK(q.qsize() == 1);
        CHECK(q.get_nowait() == 9);
    } else {
        CHECK(got == 9);
        CHECK(q.empty());
    }
}

weft::Task<void> unlock_after(weft::Lock::Guard held, std::chrono::milliseconds delay) {
    co_await weft::sleep(delay);
    held.unlock();
}

weft::Task<void> lock_times_out_lock_not_held() {
    weft::Lock lock;
    {
        auto held = co_await lock.lock();
        bool timed_out = false;
        auto waiter = weft::spawn([](weft::Lock& lock, bool& timed_out) -> weft::Task<void> {
            try {
                auto g = co_await weft::wait_for(lock.lock(), 50ms);
            } catch (const weft::TimeoutError&) {
                timed_out = true;
            }
            CHECK_FALSE(lock.held_by_current_task());
        }(lock, timed_out));
        co_await waiter;
        CHECK(timed_out);
        CHECK(weft::testing::waiters(lock) == 0);
    }
    CHECK_FALSE(lock.locked());
    // Released at the deadline itself: a TimeoutError leaves the lock free, a success holds it.
    auto held = co_await lock.lock();
    auto releaser = weft::spawn(unlock_after(std::move(held), 100ms));
    bool timed_out = false;
    try {
        weft::Lock::Guard guard = co_await weft::wait_for(lock.lock(), 100ms);
        CHECK(guard.owns_lock());
        CHECK(lock.held_by_current_task());
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    co_await releaser;
    CHECK_FALSE(lock.locked());
    (void)timed_out;
    // In time: wait_for returns the Guard, which holds the lock.
    held = co_await lock.lock();
    releaser = weft::spawn(unlock_after(std::move(held), 10ms));
    auto guard = co_await weft::wait_for(lock.lock(), 100ms);
    CHECK(guard.owns_lock());
    co_await releaser;
}

weft::Task<void> release_after(weft::Semaphore& sem, std::chrono::milliseconds delay) {
    co_await weft::sleep(delay);
    sem.release();
}

weft::Task<void> semaphore_times_out_permit_stays() {
    weft::Semaphore sem(0);
    bool timed_out = false;
    try {
        auto permit = co_await weft::wait_for(sem.acquire(), 20ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(weft::testing::waiters(sem) == 0);
    // Released at the deadline: the permit is either held by the waiter (then released by its
    // guard) or passed back; the count ends at 1 either way.
    auto releaser = weft::spawn(release_after(sem, 100ms));
    try {
        auto permit = co_await weft::wait_for(sem.acquire(), 100ms);
    } catch (const weft::TimeoutError&) {
    }
    co_await releaser;
    CHECK(sem.value() == 1);
}

// asyncio's wait_for(cond.wait()): on timeout the lock has been taken again, as after any wait.
weft::Task<void> condition_wait_times_out_lock_retaken() {
    weft::Condition cond;
    auto held = co_await cond.lock();
    bool timed_out = false;
    try {
        co_await weft::wait_for(cond.wait(), 30ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(cond.underlying_lock().held_by_current_task());
    CHECK(weft::testing::waiters(cond) == 0);
}

// A put that times out on a full queue puts nothing (the item goes with the awaiter).
weft::Task<void> queue_put_times_out() {
    weft::Queue<int> q(1);
    co_await weft::wait_for(q.put(1), 10ms);
    bool timed_out = false;
    try {
        co_await weft::wait_for(q.put(2), 10ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(q.qsize() == 1);
    CHECK(q.get_nowait() == 1);
    CHECK(weft::testing::waiters(q) == 0);
}

weft::Task<void> set_after(weft::Event& event, std::chrono::milliseconds delay) {
    co_await weft::sleep(delay);
    event.set();
}

weft::Task<void> event_wait_for() {
    weft::Event event;
    const auto start = weft::now();
    bool timed_out = false;
    try {
        co_await weft::wait_for(event.wait(), 40ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(test::ms_since(start) == 40);
    CHECK(weft::testing::waiters(event) == 0);
    auto setter = weft::spawn(set_after(event, 10ms));
    co_await weft::wait_for(event.wait(), 40ms);
    CHECK(test::ms_since(start) == 50);
    co_await setter;
}

weft::Task<int> slow_value(std::shared_ptr<int> finished) {
    co_await weft::sleep(1s);
    *finished = 1;
    co_return 42;
}

// asyncio's wait_for(shield(x)): the waiter times out, the shielded task runs on to its end.
weft::Task<void> shielded_runs_on() {
    auto finished = std::make_shared<int>(0);
    const auto start = weft::now();
    bool timed_out = false;
    try {
        (void)co_await weft::wait_for(weft::shield(slow_value(finished)), 100ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(test::ms_since(start) == 100);
    CHECK(*finished == 0);
    co_await weft::sleep(2s);
    CHECK(*finished == 1);
    int v = co_await weft::wait_for(weft::shield(slow_value(finished)), 2s);
    CHECK(v == 42);
}

// The awaitable lives in wait_for's own frame: the returned Task may be kept, or spawned.
weft::Task<void> stored_and_spawned() {
    weft::Queue<int> q;
    weft::Task<int> later = weft::wait_for(q.get(), 1s);  // the get() temporary is gone after this line
    q.put_nowait(3);
    int got = co_await std::move(later);
    CHECK(got == 3);
    auto handle = weft::spawn(weft::wait_for(q.get(), 1s));
    co_await weft::testing::until_waiters(q, 1);
    q.put_nowait(4);
    got = co_await handle;
    CHECK(got == 4);
    auto lost = weft::spawn(weft::wait_for(q.get(), 10ms));
    bool timed_out = false;
    try {
        co_await lost;
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    // An lvalue awaiter moved in before it was awaited is fine; one already awaited is refused.
    auto get = q.get();
    q.put_nowait(5);
    got = co_await weft::wait_for(std::move(get), 1s);
    CHECK(got == 5);
    auto spent = q.get();
    q.put_nowait(6);
    got = co_await spent;
    CHECK(got == 6);
    CHECK_THROWS_AS(weft::wait_for(std::move(spent), 1s), weft::UsageError);
}

// A cancel() from outside stays a CancelledError (not TimeoutError) and loses nothing.
weft::Task<void> cancelled_from_outside() {
    weft::Queue<int> q;
    auto getter = weft::spawn(weft::wait_for(q.get(), 10s));
    co_await weft::testing::until_waiters(q, 1);
    CHECK(getter.cancel());
    bool cancelled = false, timeout = false;
    try {
        co_await getter;
    } catch (const weft::TimeoutError&) {
        timeout = true;
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    CHECK(cancelled);
    CHECK_FALSE(timeout);
    CHECK(weft::testing::waiters(q) == 0);
}

weft::Task<void> stream_read_times_out() {
    auto [reader, writer] = weft::net::pipe();
    char buf[16];
    const auto start = weft::now();
    bool timed_out = false;
    try {
        (void)co_await weft::wait_for(reader.read(buf, sizeof buf), 50ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(test::ms_since(start) == 50);
    co_await writer.write_all("hello");
    std::size_t n = co_await weft::wait_for(reader.read(buf, sizeof buf), 1s);  // nothing skipped
    CHECK(std::string(buf, n) == "hello");
}

}  // namespace

TEST_CASE("wait_for(queue.get()): TimeoutError at the deadline, the item stays in the queue", "[wait_for]") {
    weft::run(queue_get_times_out_item_stays(), test::paused_clock());
    weft::run(queue_get_in_time(), test::paused_clock());
    weft::run(queue_item_at_the_deadline(), test::paused_clock());
}

TEST_CASE("wait_for(lock.lock()) returns the Guard, on timeout the lock is not held", "[wait_for]") {
    weft::run(lock_times_out_lock_not_held(), test::paused_clock());
}

TEST_CASE("wait_for(sem.acquire()): on timeout the permit stays with the semaphore", "[wait_for]") {
    weft::run(semaphore_times_out_permit_stays(), test::paused_clock());
}

TEST_CASE("wait_for(cond.wait()) times out holding the lock again", "[wait_for]") {
    weft::run(condition_wait_times_out_lock_retaken(), test::paused_clock());
}

TEST_CASE("wait_for(q.put()) on a full queue times out having put nothing", "[wait_for]") {
    weft::run(queue_put_times_out(), test::paused_clock());
}

TEST_CASE("wait_for(event.wait()) times out and returns once set", "[wait_for]") {
    weft::run(event_wait_for(), test::paused_clock());
}

TEST_CASE("wait_for(shield(task)) times out while the shielded task runs on", "[wait_for]") {
    weft::run(shielded_runs_on(), test::paused_clock());
}

TEST_CASE("wait_for keeps the awaitable in its own frame: stored, spawned, moved-in lvalues", "[wait_for]") {
    weft::run(stored_and_spawned(), test::paused_clock());
}

TEST_CASE("wait_for(awaitable) cancelled from outside raises CancelledError, not TimeoutError", "[wait_for]") {
    weft::run(cancelled_from_outside(), test::paused_clock());
}

TEST_CASE("wait_for(stream.read()) times out and the stream loses nothing", "[wait_for]") {
    weft::run(stream_read_times_out(), test::paused_clock());
}

// ---- storms on 2 workers: timeouts firing at random, every item and permit counted ---------

namespace {

struct QueueStorm {
    weft::Queue<int> q;
    std::vector<std::atomic<int>> seen;
    std::atomic<int> received{0};
    std::atomic<int> timeouts{0};
    int total;
    explicit QueueStorm(int n) : seen(static_cast<std::size_t>(n)), total(n) {}
};

weft::Task<void> storm_producer(QueueStorm& s, int first, int count) {
    for (int i = first; i < first + count; ++i) {
        s.q.put_nowait(i);
        // Now and then a pause as long as the consumers' deadline: their timeouts fire at the
        // same timer tick as the next puts (a hand-off racing a deadline).
        if (i % 50 == 0) co_await weft::sleep(1ms);
        if (i % 7 == 0) co_await weft::yield_now();
    }
}

weft::Task<void> storm_consumer(QueueStorm& s) {
    while (s.received.load() < s.total) {
        try {
            int v = co_await weft::wait_for(s.q.get(), 1ms);
            s.seen[static_cast<std::size_t>(v)].fetch_add(1);
            s.received.fetch_add(1);
        } catch (const weft::TimeoutError&) {
            s.timeouts.fetch_add(1);
        }
    }
}

weft::Task<void> queue_storm(int producers, int per_producer, int consumers, std::int64_t& timeouts) {
    QueueStorm s(producers * per_producer);
    std::vector<weft::JoinHandle<void>> tasks;
    for (int c = 0; c < consumers; ++c) tasks.push_back(weft::spawn(storm_consumer(s)));
    for (int p = 0; p < producers; ++p) tasks.push_back(weft::spawn(storm_producer(s, p * per_producer, per_producer)));
    for (auto& t : tasks) co_await t;
    CHECK(s.received.load() == s.total);
    int wrong = 0;
    for (auto& n : s.seen) wrong += n.load() != 1;
    CHECK(wrong == 0);  // every item received exactly once
    CHECK(s.q.empty());
    CHECK(weft::testing::waiters(s.q) == 0);
    timeouts += s.timeouts.load();
}

struct PermitStorm {
    std::atomic<int> in_use{0};
    std::atomic<int> over{0};
    std::atomic<int> acquired{0};
    std::atomic<int> timeouts{0};
    std::int64_t plain_counter = 0;  // written only under the Lock
};

template <class Primitive, class Acquire>
weft::Task<void> permit_user(Primitive& p, Acquire acquire, PermitStorm& s, int limit, int rounds) {
    for (int i = 0; i < rounds; ++i) {
        try {
            auto held = co_await weft::wait_for(acquire(p), 1ms);
            if (s.in_use.fetch_add(1) + 1 > limit) s.over.fetch_add(1);
            if (limit == 1) ++s.plain_counter;
            // Hold it across a suspension; now and then for as long as the others' deadline, so
            // the release (a hand-off) and their timeouts fire at the same timer tick.
            if (i % 8 == 0) {
                co_await weft::sleep(1ms);
            } else if (i % 3 == 0) {
                co_await weft::yield_now();
            }
            s.in_use.fetch_sub(1);
            s.acquired.fetch_add(1);
        } catch (const weft::TimeoutError&) {
            s.timeouts.fetch_add(1);
        }
    }
}

}  // namespace

TEST_CASE("wait_for(q.get()) storm on 2 workers: every item received exactly once", "[wait_for][stress]") {
    const int iterations = test::scaled(40, 8);
    std::int64_t timeouts = 0;
    for (int i = 0; i < iterations; ++i)
        weft::run(queue_storm(2, 500, 4, timeouts), weft::RuntimeOptions{.workers = 2});
    INFO("timeouts that fired: " << timeouts);  // (about 1,700 in a release build)
    SUCCEED();
}

TEST_CASE("wait_for(sem.acquire()) and wait_for(lock.lock()) storms on 2 workers: no permit lost or doubled",
          "[wait_for][stress]") {
    const int iterations = test::scaled(10, 3);
    const int tasks = 8, rounds = test::scaled(100, 40);
    std::int64_t timeouts = 0;
    for (int it = 0; it < iterations; ++it) {
        weft::run(
            [&]() -> weft::Task<void> {
                weft::Semaphore sem(3);
                PermitStorm s;
                auto acquire = [](weft::Semaphore& sem) { return sem.acquire(); };
                std::vector<weft::JoinHandle<void>> users;
                for (int t = 0; t < tasks; ++t) users.push_back(weft::spawn(permit_user(sem, acquire, s, 3, rounds)));
                for (auto& u : users) co_await u;
                CHECK(s.over.load() == 0);
                CHECK(s.acquired.load() + s.timeouts.load() == tasks * rounds);
                CHECK(sem.value() == 3);  // every permit back
                CHECK(weft::testing::waiters(sem) == 0);
                timeouts += s.timeouts.load();
            }(),
            weft::RuntimeOptions{.workers = 2});
        weft::run(
            [&]() -> weft::Task<void> {
                weft::Lock lock;
                PermitStorm s;
                auto acquire = [](weft::Lock& lock) { return lock.lock(); };
                std::vector<weft::JoinHandle<void>> users;
                for (int t = 0; t < tasks; ++t) users.push_back(weft::spawn(permit_user(lock, acquire, s, 1, rounds)));
                for (auto& u : users) co_await u;
                CHECK(s.over.load() == 0);
                CHECK(s.acquired.load() + s.timeouts.load() == tasks * rounds);
                CHECK(s.plain_counter == s.acquired.load());  // the lock really excluded
                CHECK_FALSE(lock.locked());
                CHECK(weft::testing::waiters(lock) == 0);
                timeouts += s.timeouts.load();
            }(),
            weft::RuntimeOptions{.workers = 2});
    }
    INFO("timeouts that fired: " << timeouts);  // (about 2,000 in a release build)
    SUCCEED();
}
