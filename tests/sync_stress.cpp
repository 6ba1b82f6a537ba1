// weft::sync under load on several workers, with exact accounting:
//  - 8 producers x 8 consumers move N distinct items through Queue(maxsize=64): every item
//    arrives exactly once (a bitmap catches loss and duplication, a checksum double-checks);
//  - the same while a chaos task cancels consumers at random (JoinHandle::cancel) and
//    producers and consumers put/get under short timeouts (wait_for / timeout scopes);
//  - Lock and Semaphore with cancelled and timed-out waiters: every increment that returned
//    is counted once, the lock ends free, no permit leaks, the permit limit always holds.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

// xorshift64: cheap per-task randomness, reproducible from the seed.
struct Rng {
    std::uint64_t state;
    std::uint64_t next() noexcept {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    }
    bool one_in(std::uint64_t n) noexcept { return next() % n == 0; }
};

// Which items arrived: one bit per item id, set once.
class Arrivals {
public:
    explicit Arrivals(std::uint64_t n) : words_((n + 63) / 64), n_(n) {}
    void record(std::uint64_t id) noexcept {
        if (id >= n_) {
            out_of_range_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        std::uint64_t bit = std::uint64_t{1} << (id % 64);
        if (words_[id / 64].fetch_or(bit, std::memory_order_relaxed) & bit)
            duplicates_.fetch_add(1, std::memory_order_relaxed);
        sum_.fetch_add(id, std::memory_order_relaxed);
        count_.fetch_add(1, std::memory_order_relaxed);
    }
    std::uint64_t missing() const noexcept {
        std::uint64_t set = 0;
        for (auto& word : words_) set += static_cast<std::uint64_t>(__builtin_popcountll(word.load()));
        return n_ - set;
    }
    std::uint64_t duplicates() const noexcept { return duplicates_.load(); }
    std::uint64_t out_of_range() const noexcept { return out_of_range_.load(); }
    std::uint64_t sum() const noexcept { return sum_.load(); }
    std::uint64_t count() const noexcept { return count_.load(); }

private:
    std::vector<std::atomic<std::uint64_t>> words_;
    std::uint64_t n_;
    std::atomic<std::uint64_t> duplicates_{0};
    std::atomic<std::uint64_t> out_of_range_{0};
    std::atomic<std::uint64_t> sum_{0};
    std::atomic<std::uint64_t> count_{0};
};

struct Traffic {
    weft::Queue<std::uint64_t> queue;
    Arrivals arrivals;
    weft::Barrier pause;  // chaos: the producers pause together, so the queue runs dry
    std::atomic<int> producers_left;
    std::atomic<std::uint64_t> timeouts{0};
    std::atomic<std::uint64_t> cancellations{0};
    bool chaos;
    Traffic(std::size_t maxsize, std::uint64_t n, int producers, bool chaos)
        : queue(maxsize),
          arrivals(n),
          pause(static_cast<std::size_t>(producers)),
          producers_left(producers),
          chaos(chaos) {}
};

weft::Task<void> put_item(weft::Queue<std::uint64_t>& queue, std::uint64_t id) { co_await queue.put(id); }

// Producer p puts ids p, p + P, p + 2P, ... < n (n a multiple of P). Under chaos some puts
// run under a 1 ms timeout, and 32 times all producers meet at a barrier and wait there while
// one of them sleeps 2 ms, so the queue runs dry and the consumers' timeouts fire; a put that
// timed out has not put its item (all or nothing), so the same id is put again.
weft::Task<void> produce(Traffic& t, int p, int producers, std::uint64_t n) {
    Rng rng{0x9E3779B97F4A7C15ull * std::uint64_t(p + 1)};
    const std::uint64_t per_producer = n / std::uint64_t(producers);
    std::uint64_t sent = 0;
    for (std::uint64_t id = std::uint64_t(p); id < n; id += std::uint64_t(producers), ++sent) {
        if (t.chaos) {
            if (rng.one_in(16)) co_await weft::yield_now();
            if (sent % (per_producer / 32) == per_producer / 64) {
                if (co_await t.pause.wait() == 0) co_await weft::sleep(2ms);
                co_await t.pause.wait();
            }
            while (rng.one_in(16)) {
                try {
                    co_await weft::wait_for(put_item(t.queue, id), 1ms);
                    goto next;
                } catch (const weft::TimeoutError&) {
                    t.timeouts.fetch_add(1, std::memory_order_relaxed);
                }
            }
        }
        co_await t.queue.put(id);
    next:;
    }
    if (t.producers_left.fetch_sub(1) == 1) t.queue.shutdown();  // no sentinels
}

// Records every item it gets (before anything else can interrupt it). Ends at QueueShutDown,
// or by cancellation. Under chaos some gets run under a 1 ms timeout, it yields now and then
// (another cancellation point) and rarely pauses (so the queue fills and puts time out).
weft::Task<void> consume(Traffic& t, std::uint64_t seed) {
    Rng rng{seed};
    try {
        for (;;) {
            if (t.chaos) {
                if (rng.one_in(32)) co_await weft::yield_now();
                if (rng.one_in(8192)) co_await weft::sleep(2ms);
                if (rng.one_in(8)) {
                    try {
                        auto deadline = weft::timeout(1ms);
                        t.arrivals.record(co_await t.queue.get());
                    } catch (const weft::TimeoutError&) {
                        t.timeouts.fetch_add(1, std::memory_order_relaxed);
                    }
                    continue;
                }
            }
            t.arrivals.record(co_await t.queue.get());
        }
    } catch (const weft::QueueShutDown&) {
    }
}

// Cancels a random consumer every few dozen yields and starts a fresh one in its place.
weft::Task<void> cancel_consumers(Traffic& t, std::vector<weft::JoinHandle<void>>& consumers, int rounds) {
    Rng rng{42};
    for (int round = 0; round < rounds; ++round) {
        for (std::uint64_t i = rng.next() % 64; i > 0; --i) co_await weft::yield_now();
        auto& victim = consumers[rng.next() % consumers.size()];
        victim.cancel();
        try {
            co_await victim;
        } catch (const weft::CancelledError&) {
            t.cancellations.fetch_add(1, std::memory_order_relaxed);
        }
        victim = weft::spawn(consume(t, rng.next()));
    }
}

weft::Task<void> traffic(Traffic& t, int producers, int consumers, std::uint64_t n, int chaos_rounds) {
    std::vector<weft::JoinHandle<void>> consumer_tasks;
    for (int c = 0; c < consumers; ++c) consumer_tasks.push_back(weft::spawn(consume(t, 1000 + std::uint64_t(c))));
    std::vector<weft::JoinHandle<void>> producer_tasks;
    for (int p = 0; p < producers; ++p) producer_tasks.push_back(weft::spawn(produce(t, p, producers, n)));
    if (chaos_rounds > 0) co_await cancel_consumers(t, consumer_tasks, chaos_rounds);
    for (auto& task : producer_tasks) co_await task;
    for (auto& task : consumer_tasks) co_await task;
    CHECK(t.queue.is_shut_down());
    CHECK(t.queue.qsize() == 0);
}

void check_exact(const Traffic& t, std::uint64_t n) {
    CHECK(t.arrivals.duplicates() == 0);
    CHECK(t.arrivals.out_of_range() == 0);
    CHECK(t.arrivals.missing() == 0);
    CHECK(t.arrivals.count() == n);
    CHECK(t.arrivals.sum() == n * (n - 1) / 2);
}

// ---- Lock and Semaphore with cancelled waiters ------------------------------------------------

struct LockedCounter {
    weft::Lock lock;
    std::uint64_t value = 0;                 // guarded by lock
    std::atomic<std::uint64_t> returned{0};  // increments whose task went on past the unlock
    std::atomic<std::uint64_t> timeouts{0};
};

weft::Task<void> locked_increments(LockedCounter& c, int k, std::uint64_t seed) {
    Rng rng{seed};
    for (int i = 0; i < k; ++i) {
        if (rng.one_in(16)) {
            try {
                auto deadline = weft::timeout(1ms);
                auto held = co_await c.lock.lock();
                ++c.value;
                c.returned.fetch_add(1, std::memory_order_relaxed);
            } catch (const weft::TimeoutError&) {
                c.timeouts.fetch_add(1, std::memory_order_relaxed);
            }
            continue;
        }
        auto held = co_await c.lock.lock();
        ++c.value;
        if (rng.one_in(8)) co_await weft::yield_now();  // hold it across a suspension (a cancellation point)
        c.returned.fetch_add(1, std::memory_order_relaxed);
    }
}

weft::Task<void> lock_chaos(int tasks, int k, int cancels) {
    LockedCounter c;
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(locked_increments(c, k, 7 + std::uint64_t(i))));
    Rng rng{99};
    int cancelled = 0;
    for (int round = 0; round < cancels; ++round) {
        for (std::uint64_t i = rng.next() % 16; i > 0; --i) co_await weft::yield_now();
        handles[rng.next() % handles.size()].cancel();
    }
    for (auto& handle : handles) {
        try {
            co_await handle;
        } catch (const weft::CancelledError&) {
            ++cancelled;
        }
    }
    auto held = co_await c.lock.lock();
    // A task cancelled while holding the lock across its yield incremented but did not
    // return: value counts those too, `returned` does not.
    CHECK(c.value >= c.returned.load());
    CHECK(c.value <= c.returned.load() + std::uint64_t(cancelled));
    CHECK(c.value + c.timeouts.load() + 0 <= std::uint64_t(tasks) * std::uint64_t(k));
    CHECK(weft::testing::waiters(c.lock) == 0);
    held.unlock();
    CHECK_FALSE(c.lock.locked());
    if (cancels == 0) CHECK(c.value + c.timeouts.load() == std::uint64_t(tasks) * std::uint64_t(k));
}

struct Permits {
    weft::Semaphore semaphore;
    std::atomic<int> inside{0};
    std::atomic<int> max_inside{0};
    std::atomic<std::uint64_t> entries{0};
    explicit Permits(int n) : semaphore(static_cast<std::size_t>(n)) {}
};

weft::Task<void> use_permits(Permits& p, int k, std::uint64_t seed) {
    Rng rng{seed};
    for (int i = 0; i < k; ++i) {
        std::optional<weft::TimeoutScope> deadline;
        if (rng.one_in(8)) deadline.emplace(weft::now() + 1ms);
        try {
            auto permit = co_await p.semaphore.acquire();
            deadline.reset();
            struct Inside {  // leaves on every path, cancellation included
                std::atomic<int>& count;
                ~Inside() { count.fetch_sub(1); }
            } inside{p.inside};
            int now = p.inside.fetch_add(1) + 1;
            int seen = p.max_inside.load();
            while (now > seen && !p.max_inside.compare_exchange_weak(seen, now)) {
            }
            if (rng.one_in(4)) co_await weft::yield_now();  // a cancellation point while holding it
            p.entries.fetch_add(1, std::memory_order_relaxed);
        } catch (const weft::TimeoutError&) {
        }
    }
}

weft::Task<void> semaphore_chaos(int permits, int tasks, int k, int cancels) {
    Permits p(permits);
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < tasks; ++i) handles.push_back(weft::spawn(use_permits(p, k, 3 + std::uint64_t(i))));
    Rng rng{5};
    for (int round = 0; round < cancels; ++round) {
        for (std::uint64_t i = rng.next() % 16; i > 0; --i) co_await weft::yield_now();
        handles[rng.next() % handles.size()].cancel();
    }
    for (auto& handle : handles) {
        try {
            co_await handle;
        } catch (const weft::CancelledError&) {
        }
    }
    CHECK(p.max_inside.load() <= permits);
    CHECK(p.inside.load() == 0);
    CHECK(p.semaphore.value() == std::size_t(permits));  // no permit leaked
    CHECK(weft::testing::waiters(p.semaphore) == 0);
}

}  // namespace

TEST_CASE("Queue: 8 producers x 8 consumers through maxsize 64, zero loss, zero duplication", "[sync][queue][stress]") {
    const std::uint64_t n = test::scaled<std::uint64_t>(10'000'000, 100'000);
    const unsigned workers = GENERATE(2u, 4u);
    if (workers == 2 && n > 1'000'000) return;  // the full size once is enough
    auto t = std::make_unique<Traffic>(64, n, 8, /*chaos=*/false);
    weft::run(traffic(*t, 8, 8, n, 0), test::workers(workers));
    check_exact(*t, n);
}

TEST_CASE("Queue: exact delivery while consumers are cancelled and puts/gets time out",
          "[sync][queue][stress][cancel]") {
    const std::uint64_t n = test::scaled<std::uint64_t>(1'000'000, 50'000);
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const std::size_t maxsize = GENERATE(64u, 0u);  // lock-free ring; guarded storage
    auto t = std::make_unique<Traffic>(maxsize, n, 8, /*chaos=*/true);
    weft::run(traffic(*t, 8, 8, n, test::scaled(2000, 200)), test::workers(workers));
    check_exact(*t, n);
    CHECK(t->cancellations.load() > 0);
    CHECK(t->timeouts.load() > 0);
}

TEST_CASE("Lock: 1000 tasks x 1000 increments, with cancelled and timed-out waiters", "[sync][lock][stress][cancel]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const int cancels = GENERATE(0, 200);
    weft::run(lock_chaos(test::scaled(1000, 100), test::scaled(1000, 100), cancels), test::workers(workers));
}

TEST_CASE("Semaphore: the permit limit holds and no permit leaks under cancellation",
          "[sync][semaphore][stress][cancel]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    weft::run(semaphore_chaos(3, test::scaled(200, 40), test::scaled(500, 50), 100), test::workers(workers));
}

TEST_CASE("Queue: exact delivery through maxsize 1 and through an unbounded queue", "[sync][queue][stress]") {
    const std::size_t maxsize = GENERATE(1u, 0u);
    const unsigned workers = GENERATE(2u, 4u);
    const std::uint64_t n = test::scaled<std::uint64_t>(1'000'000, 50'000);
    auto t = std::make_unique<Traffic>(maxsize, n, 8, /*chaos=*/false);
    weft::run(traffic(*t, 8, 8, n, 0), test::workers(workers));
    check_exact(*t, n);
}
