// weft::Queue, LifoQueue, PriorityQueue and BackpressureQueue: asyncio's semantics case by
// case on one worker (order, backpressure, hand-off, task_done/join, every shutdown variant,
// cancellation that never loses an item).
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/clock.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

template <class Q>
weft::Task<void> get_into(Q& q, std::vector<int>& got) {
    got.push_back(co_await q.get());
}

template <class Q>
weft::Task<void> put_one(Q& q, int item) {
    co_await q.put(item);
}

template <class Q>
weft::Task<std::string> get_expect_shutdown(Q& q) {
    try {
        int v = co_await q.get();
        co_return "got " + std::to_string(v);
    } catch (const weft::QueueShutDown&) {
        co_return "shut down";
    }
}

template <class Q>
weft::Task<std::string> put_expect_shutdown(Q& q, int item) {
    try {
        co_await q.put(item);
        co_return "put";
    } catch (const weft::QueueShutDown&) {
        co_return "shut down";
    }
}

weft::Task<void> orders() {
    weft::Queue<int> fifo;
    weft::LifoQueue<int> lifo;
    weft::PriorityQueue<int> lowest;
    weft::PriorityQueue<std::pair<int, std::string>> by_priority;
    for (int v : {3, 1, 2}) {
        co_await fifo.put(v);
        co_await lifo.put(v);
        co_await lowest.put(v);
    }
    by_priority.put_nowait({2, "two"});
    by_priority.put_nowait({1, "one"});
    CHECK(fifo.qsize() == 3);
    CHECK_FALSE(fifo.full());  // unbounded
    CHECK(fifo.maxsize() == 0);
    std::vector<int> f, l, p;
    for (int i = 0; i < 3; ++i) {
        f.push_back(co_await fifo.get());
        l.push_back(lifo.get_nowait());
        p.push_back(co_await lowest.get());
    }
    CHECK(f == std::vector<int>{3, 1, 2});
    CHECK(l == std::vector<int>{2, 1, 3});
    CHECK(p == std::vector<int>{1, 2, 3});
    {
        auto got = co_await by_priority.get();
        CHECK(got.second == "one");
    }
    CHECK(fifo.empty());
    CHECK_THROWS_AS(fifo.get_nowait(), weft::QueueEmpty);
    weft::Queue<int> bounded(2);
    bounded.put_nowait(1);
    bounded.put_nowait(2);
    CHECK(bounded.full());
    CHECK_THROWS_AS(bounded.put_nowait(3), weft::QueueFull);
    CHECK(bounded.qsize() == 2);
}

weft::Task<void> put_waits_while_full() {
    weft::Queue<int> q(2);
    co_await q.put(1);
    co_await q.put(2);
    auto putter = weft::spawn(put_one(q, 3));
    co_await weft::testing::until_waiters(q, 1);
    auto second = weft::spawn(put_one(q, 4));
    co_await weft::testing::until_waiters(q, 2);
    CHECK(q.qsize() == 2);
    {
        auto got = co_await q.get();  // makes room: the oldest putter's item moves in
        CHECK(got == 1);
    }
    CHECK(q.qsize() == 2);
    CHECK(weft::testing::waiters(q) == 1);
    {
        auto got = co_await q.get();
        CHECK(got == 2);
    }
    {
        auto got = co_await q.get();
        CHECK(got == 3);
    }
    {
        auto got = co_await q.get();
        CHECK(got == 4);
    }
    co_await putter;
    co_await second;
    CHECK(q.empty());
}

weft::Task<void> put_hands_to_waiting_getter(std::size_t maxsize) {
    weft::Queue<int> q(maxsize);
    std::vector<int> got;
    std::vector<weft::JoinHandle<void>> getters;
    for (int i = 0; i < 3; ++i) {
        getters.push_back(weft::spawn(get_into(q, got)));
        co_await weft::testing::until_waiters(q, getters.size());
    }
    q.put_nowait(10);  // straight to the first getter: the queue stays empty
    CHECK(q.qsize() == 0);
    co_await q.put(20);
    co_await q.put(30);
    CHECK(q.qsize() == 0);
    for (auto& g : getters) co_await g;
    CHECK(got.size() == 3);
    std::vector<int> sorted = got;
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<int>{10, 20, 30});
    CHECK(q.unfinished_tasks() == 3);
}

weft::Task<void> join_accounting(std::size_t maxsize) {
    weft::Queue<int> q(maxsize);
    co_await q.join();  // nothing put: returns at once
    CHECK_THROWS_AS(q.task_done(), weft::UsageError);
    for (int i = 0; i < 3; ++i) co_await q.put(i);
    bool joined = false;
    auto joiner = weft::spawn([](weft::Queue<int>& queue, bool& flag) -> weft::Task<void> {
        co_await queue.join();
        flag = true;
    }(q, joined));
    co_await weft::testing::until_waiters(q, 1);
    for (int i = 0; i < 3; ++i) co_await q.get();
    q.task_done();
    q.task_done();
    co_await test::settle();
    CHECK_FALSE(joined);
    CHECK(q.unfinished_tasks() == 1);
    q.task_done();
    co_await joiner;
    CHECK(joined);
    CHECK_THROWS_WITH(q.task_done(), Catch::Contains("more times"));
}

weft::Task<void> shutdown_drains_then_throws() {
    weft::Queue<int> q(2);
    co_await q.put(1);
    co_await q.put(2);
    auto blocked_putter = weft::spawn(put_expect_shutdown(q, 3));
    co_await weft::testing::until_waiters(q, 1);
    q.shutdown();
    CHECK(q.is_shut_down());
    {
        auto got = co_await blocked_putter;  // pending puts fail
        CHECK(got == "shut down");
    }
    {
        auto got = co_await put_expect_shutdown(q, 4);  // and future ones
        CHECK(got == "shut down");
    }
    CHECK_THROWS_AS(q.put_nowait(5), weft::QueueShutDown);
    {
        auto got = co_await q.get();  // gets drain what is left
        CHECK(got == 1);
    }
    CHECK(q.get_nowait() == 2);
    {
        auto got = co_await get_expect_shutdown(q);  // then fail
        CHECK(got == "shut down");
    }
    CHECK_THROWS_AS(q.get_nowait(), weft::QueueShutDown);
    q.shutdown();  // idempotent
}

weft::Task<void> shutdown_wakes_waiting_getters(std::size_t maxsize) {
    weft::Queue<int> q(maxsize);
    auto a = weft::spawn(get_expect_shutdown(q));
    auto b = weft::spawn(get_expect_shutdown(q));
    co_await weft::testing::until_waiters(q, 2);
    q.shutdown();
    {
        auto got = co_await a;
        CHECK(got == "shut down");
    }
    {
        auto got = co_await b;
        CHECK(got == "shut down");
    }
}

weft::Task<void> immediate_shutdown(std::atomic<std::int64_t>& items, std::size_t maxsize) {
    weft::Queue<test::Tracked> q(maxsize);
    for (int i = 0; i < 3; ++i) co_await q.put(test::Tracked(items));
    {
        auto taken = co_await q.get();  // taken, not yet done
    }
    bool joined = false;
    auto joiner = weft::spawn([](weft::Queue<test::Tracked>& queue, bool& flag) -> weft::Task<void> {
        co_await queue.join();
        flag = true;
    }(q, joined));
    co_await weft::testing::until_waiters(q, 1);
    CHECK(q.unfinished_tasks() == 3);
    q.shutdown(/*immediate=*/true);
    CHECK(q.qsize() == 0);
    CHECK(items.load() == 0);              // the two stored items were dropped
    CHECK(q.unfinished_tasks() == 1);      // ...and counted as done; the taken one is not
    bool threw = false;
    try {
        co_await q.get();
    } catch (const weft::QueueShutDown&) {
        threw = true;
    }
    CHECK(threw);  // at once, nothing to drain
    co_await test::settle();
    CHECK_FALSE(joined);
    q.task_done();
    co_await joiner;
    CHECK(joined);
}

weft::Task<void> immediate_shutdown_releases_join(std::size_t maxsize) {
    weft::Queue<int> q(maxsize);
    co_await q.put(1);
    co_await q.put(2);
    auto joiner = weft::spawn([](weft::Queue<int>& queue) -> weft::Task<void> { co_await queue.join(); }(q));
    co_await weft::testing::until_waiters(q, 1);
    q.shutdown(true);
    co_await joiner;  // every item was dropped, so join() returns
    CHECK(q.unfinished_tasks() == 0);
}

weft::Task<int> get_then_await(weft::Queue<int>& q, std::vector<int>& got) {
    int v = co_await q.get();
    got.push_back(v);
    co_await weft::yield_now();  // the cancellation fires here
    co_return v;
}

weft::Task<void> cancelled_get_loses_nothing(std::size_t maxsize) {
    weft::Queue<int> q(maxsize);
    std::vector<int> got;
    auto a = weft::spawn(get_then_await(q, got));
    co_await weft::testing::until_waiters(q, 1);
    a.cancel();
    co_await test::expect_cancelled(std::move(a));
    q.put_nowait(7);
    CHECK(q.qsize() == 1);  // nobody took it
    CHECK(got.empty());
    // Cancelled right after the hand-off, before it runs: the cancel wins, the item comes back.
    CHECK(q.get_nowait() == 7);
    auto b = weft::spawn(get_then_await(q, got));
    co_await weft::testing::until_waiters(q, 1);
    q.put_nowait(8);  // handed to b
    b.cancel();
    co_await test::expect_cancelled(std::move(b));
    CHECK(got.empty());
    CHECK(q.qsize() == 1);
    CHECK(q.get_nowait() == 8);
}

weft::Task<void> cancelled_put_is_all_or_nothing() {
    weft::Queue<int> q(1);
    co_await q.put(1);
    auto a = weft::spawn(put_one(q, 2));
    co_await weft::testing::until_waiters(q, 1);
    a.cancel();
    co_await test::expect_cancelled(std::move(a));
    CHECK(q.qsize() == 1);
    CHECK(q.unfinished_tasks() == 1);
    {
        auto got = co_await q.get();
        CHECK(got == 1);
    }
    CHECK(q.empty());  // 2 was never put
    co_await q.put(3);
    auto b = weft::spawn([](weft::Queue<int>& queue) -> weft::Task<void> {
        co_await queue.put(4);
        co_await weft::yield_now();
    }(q));
    co_await weft::testing::until_waiters(q, 1);
    {
        auto got = co_await q.get();  // admits b's item...
        CHECK(got == 3);
    }
    b.cancel();                    // ...before b runs: b's put succeeded
    co_await test::expect_cancelled(std::move(b));
    {
        auto got = co_await q.get();
        CHECK(got == 4);
    }
}

weft::Task<void> timed_out_get_and_put() {
    weft::Queue<int> q(1);
    bool get_timed_out = false;
    try {
        auto deadline = weft::timeout(10ms);
        co_await q.get();
    } catch (const weft::TimeoutError&) {
        get_timed_out = true;
    }
    CHECK(get_timed_out);
    co_await q.put(1);
    bool put_timed_out = false;
    try {
        co_await weft::wait_for(put_one(q, 2), 10ms);
    } catch (const weft::TimeoutError&) {
        put_timed_out = true;
    }
    CHECK(put_timed_out);
    CHECK(weft::testing::waiters(q) == 0);
    CHECK(q.qsize() == 1);
    CHECK(q.get_nowait() == 1);
}

weft::Task<void> lifo_with_putters() {
    weft::LifoQueue<int> q(2);
    co_await q.put(1);
    co_await q.put(2);
    auto putter = weft::spawn(put_one(q, 3));
    co_await weft::testing::until_waiters(q, 1);
    {
        auto got = co_await q.get();  // newest first; then 3 moves in
        CHECK(got == 2);
    }
    {
        auto got = co_await q.get();
        CHECK(got == 3);
    }
    {
        auto got = co_await q.get();
        CHECK(got == 1);
    }
    co_await putter;
}

weft::Task<void> backpressure_watermarks() {
    weft::BackpressureQueue<int> q(/*high=*/4, /*low=*/1);
    CHECK(q.high() == 4);
    CHECK(q.low() == 1);
    CHECK(q.maxsize() == 4);  // bounded at high, never 0 ("unbounded" in asyncio's terms)
    for (int i = 0; i < 4; ++i) co_await q.put(i);
    CHECK(q.paused());
    auto putter = weft::spawn(put_one(q, 4));
    co_await weft::testing::until_waiters(q, 1);
    {
        auto got = co_await q.get();
        CHECK(got == 0);
    }
    {
        auto got = co_await q.get();
        CHECK(got == 1);
    }
    CHECK(q.paused());  // 2 left: still above the low mark
    CHECK(weft::testing::waiters(q) == 1);
    {
        auto got = co_await q.get();  // 1 left: reopens, and the waiting putter gets in
        CHECK(got == 2);
    }
    co_await putter;
    CHECK_FALSE(q.paused());
    CHECK(q.qsize() == 2);
    auto s = q.stats();
    CHECK(s.pauses == 1);
    CHECK(s.resumes == 1);
    CHECK(s.putter_waits == 1);
    CHECK(s.max_depth == 4);
    {
        auto got = co_await q.get();
        CHECK(got == 3);
    }
    {
        auto got = co_await q.get();
        CHECK(got == 4);
    }
    CHECK_THROWS_AS(weft::BackpressureQueue<int>(4, 4), weft::UsageError);
}

// A move that may throw keeps a bounded Queue on the guarded storage: same semantics.
struct MayThrowOnMove {
    int value;
    explicit MayThrowOnMove(int v) : value(v) {}
    MayThrowOnMove(MayThrowOnMove&& other) noexcept(false) : value(other.value) {}
    MayThrowOnMove& operator=(MayThrowOnMove&&) = default;
};

weft::Task<void> bounded_guarded_storage() {
    weft::Queue<MayThrowOnMove> q(2);
    co_await q.put(MayThrowOnMove(1));
    co_await q.put(MayThrowOnMove(2));
    CHECK(q.full());
    CHECK_THROWS_AS(q.put_nowait(MayThrowOnMove(9)), weft::QueueFull);
    auto putter = weft::spawn(
        [](weft::Queue<MayThrowOnMove>& queue) -> weft::Task<void> { co_await queue.put(MayThrowOnMove(3)); }(q));
    co_await weft::testing::until_waiters(q, 1);
    {
        auto got = co_await q.get();
        CHECK(got.value == 1);
    }
    {
        auto got = co_await q.get();
        CHECK(got.value == 2);
    }
    {
        auto got = co_await q.get();
        CHECK(got.value == 3);
    }
    co_await putter;
    CHECK(q.unfinished_tasks() == 3);
}

}  // namespace

TEST_CASE("Queue: a bounded queue of items whose move may throw works the same", "[sync][queue]") {
    weft::run(bounded_guarded_storage(), test::one_worker());
}

TEST_CASE("Queue: FIFO, LIFO and priority order, nowait variants, qsize/full/empty", "[sync][queue]") {
    weft::run(orders(), test::one_worker());
}

TEST_CASE("Queue: put waits while full, a get admits the oldest putter", "[sync][queue]") {
    weft::run(put_waits_while_full(), test::one_worker());
}

// Bounded Queues of nothrow-movable items run on the lock-free ring; unbounded ones (and items
// whose move may throw) on the guarded storage: the semantic tests run on both.
TEST_CASE("Queue: a put hands its item straight to a waiting getter", "[sync][queue]") {
    const std::size_t maxsize = GENERATE(1u, 0u);
    weft::run(put_hands_to_waiting_getter(maxsize), test::one_worker());
}

TEST_CASE("Queue: task_done/join accounting", "[sync][queue]") {
    const std::size_t maxsize = GENERATE(0u, 16u);
    weft::run(join_accounting(maxsize), test::one_worker());
}

TEST_CASE("Queue: shutdown fails puts, lets gets drain, then fails them", "[sync][queue][shutdown]") {
    weft::run(shutdown_drains_then_throws(), test::one_worker());
}

TEST_CASE("Queue: shutdown wakes waiting getters with QueueShutDown", "[sync][queue][shutdown]") {
    const std::size_t maxsize = GENERATE(0u, 16u);
    weft::run(shutdown_wakes_waiting_getters(maxsize), test::one_worker());
}

TEST_CASE("Queue: shutdown(immediate) drops the items and counts them done for join", "[sync][queue][shutdown]") {
    const std::size_t maxsize = GENERATE(4u, 0u);
    std::atomic<std::int64_t> items{0};
    weft::run(immediate_shutdown(items, maxsize), test::one_worker());
    CHECK(items.load() == 0);
    weft::run(immediate_shutdown_releases_join(maxsize), test::one_worker());
}

TEST_CASE("Queue: a cancelled get never loses an item", "[sync][queue][cancel]") {
    const std::size_t maxsize = GENERATE(0u, 8u);
    weft::run(cancelled_get_loses_nothing(maxsize), test::one_worker());
}

TEST_CASE("Queue: a cancelled put has put its item or not, never half", "[sync][queue][cancel]") {
    weft::run(cancelled_put_is_all_or_nothing(), test::one_worker());
}

TEST_CASE("Queue: timeouts on get and put leave no waiter", "[sync][queue][cancel]") {
    weft::run(timed_out_get_and_put(), test::paused_clock());
}

TEST_CASE("LifoQueue: waiting putters and newest-first order", "[sync][queue]") {
    weft::run(lifo_with_putters(), test::one_worker());
}

TEST_CASE("BackpressureQueue: pauses at the high mark, resumes at the low mark", "[sync][queue][backpressure]") {
    weft::run(backpressure_watermarks(), test::one_worker());
}

// asyncio: "If maxsize is less than or equal to zero, the queue size is infinite", and a bound
// costs nothing until items come. weft's maxsize is unsigned: asyncio's -1 arrives as SIZE_MAX.
template <class Q>
void check_a_huge_bound(std::size_t maxsize) {
    Q queue(maxsize);
    CHECK(queue.maxsize() == maxsize);
    for (int i = 0; i < 1000; ++i) queue.put_nowait(i);
    CHECK(queue.qsize() == 1000);
    CHECK_FALSE(queue.full());
    long sum = 0;
    for (int i = 0; i < 1000; ++i) sum += queue.get_nowait();
    CHECK(sum == 999 * 1000 / 2);
    CHECK(queue.empty());
}

TEST_CASE("Queue: a bound of SIZE_MAX (asyncio's maxsize=-1) or in the millions is a bound, not an allocation",
          "[sync][queue]") {
    check_a_huge_bound<weft::Queue<int>>(static_cast<std::size_t>(-1));
    check_a_huge_bound<weft::LifoQueue<int>>(static_cast<std::size_t>(-1));
    check_a_huge_bound<weft::PriorityQueue<int>>(static_cast<std::size_t>(-1));
    // 10^12 slots of 16 bytes would be 16 TB: made up front, this could not construct.
    check_a_huge_bound<weft::Queue<int>>(std::size_t{1'000'000'000'000});
    check_a_huge_bound<weft::LifoQueue<int>>(std::size_t{1'000'000'000'000});
    check_a_huge_bound<weft::PriorityQueue<int>>(std::size_t{1'000'000'000'000});
}

TEST_CASE("Queue: a large bound still holds: put_nowait past it is QueueFull", "[sync][queue]") {
    weft::Queue<int> queue(100'000);
    for (int i = 0; i < 100'000; ++i) queue.put_nowait(i);
    CHECK(queue.full());
    CHECK_THROWS_AS(queue.put_nowait(1), weft::QueueFull);
    CHECK(queue.get_nowait() == 0);
    queue.put_nowait(7);
    CHECK(queue.qsize() == 100'000);
}
