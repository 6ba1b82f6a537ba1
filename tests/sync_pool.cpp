// weft::Pool<T>: step by step on one worker (reuse, FIFO waiters, the lease returned or dropped:
// discard(), an exception unwinding, release(); a throwing factory frees its slot; a failed or
// throwing health check drops and recreates; idle_timeout and max_idle on the paused clock;
// cancellation while waiting, in the factory and in the health check leaks no slot), then a
// storm on 2 and 4 workers with random discards, throws, failing factories and checks and
// cancellations: never more than max_size objects alive, and every slot back at the end.
#include <catch2/catch.hpp>

#include <weft/pool.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/clock.hpp"
#include "support/random.hpp"
#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

// How many connections exist (moved-from shells do not count), and the most at once.
struct Census {
    std::atomic<int> alive{0};
    std::atomic<int> most{0};
    std::atomic<int> made{0};
    std::atomic<int> destroyed{0};
};

class Conn {
public:
    Conn(Census& census, int id) : census_(&census), id_(id) {
        int now_alive = census.alive.fetch_add(1) + 1;
        int most = census.most.load();
        while (now_alive > most && !census.most.compare_exchange_weak(most, now_alive)) {
        }
        census.made.fetch_add(1);
    }
    Conn(Conn&& other) noexcept
        : healthy(other.healthy), census_(std::exchange(other.census_, nullptr)), id_(other.id_) {}
    Conn& operator=(Conn&&) = delete;
    ~Conn() {
        if (census_) {
            census_->alive.fetch_sub(1);
            census_->destroyed.fetch_add(1);
        }
    }
    int id() const noexcept { return id_; }
    bool healthy = true;

private:
    Census* census_;
    int id_;
};

weft::PoolOptions<Conn> options(Census& census, std::size_t max_size) {
    return {.max_size = max_size,
            .factory = [&census]() -> weft::Task<Conn> { co_return Conn(census, census.made.load() + 1); }};
}

weft::Task<void> until_pool_waiting(const weft::Pool<Conn>& pool, std::size_t count) {
    while (pool.waiting() < count) co_await weft::yield_now();
}

weft::Task<int> lease_id(weft::Pool<Conn>& pool, std::vector<int>& log) {
    auto conn = co_await pool.acquire();
    log.push_back(conn->id());
    co_return conn->id();
}

weft::Task<void> reuse_and_fifo_waiters() {
    Census census;
    weft::Pool<Conn> pool(options(census, 2));
    {
        auto a = co_await pool.acquire();
        auto b = co_await pool.acquire();
        CHECK(a->id() == 1);
        CHECK(b->id() == 2);
        CHECK(pool.size() == 2);
        CHECK(pool.in_use() == 2);
        std::vector<int> log;
        auto w1 = weft::spawn(lease_id(pool, log));
        co_await until_pool_waiting(pool, 1);
        auto w2 = weft::spawn(lease_id(pool, log));
        co_await until_pool_waiting(pool, 2);
        b.release();  // goes to the oldest waiter
        int first = co_await w1;
        CHECK(first == 2);
        int second = co_await w2;  // w1's lease went back when it ended
        CHECK(second == 2);
        CHECK(log == std::vector<int>{2, 2});
    }
    CHECK(census.made == 2);
    CHECK(pool.idle() == 2);
    CHECK(pool.in_use() == 0);
    auto c = co_await pool.acquire();
    CHECK(c->id() == 1);  // LIFO: a was returned last (at the end of the block)
    CHECK(census.made == 2);
}

weft::Task<void> use_and_throw(weft::Pool<Conn>& pool) {
    auto conn = co_await pool.acquire();
    co_await weft::yield_now();
    throw std::runtime_error("the request failed halfway");
}

weft::Task<void> discard_and_errors_drop_the_object() {
    Census census;
    weft::Pool<Conn> pool(options(census, 1));
    {
        auto a = co_await pool.acquire();
        a.discard();  // broken: destroyed now, its slot free
        CHECK_FALSE(a);
        CHECK(census.alive == 0);
        CHECK(pool.size() == 0);
        CHECK_THROWS_AS(a.release(), weft::UsageError);
    }
    bool threw = false;
    try {
        co_await use_and_throw(pool);
    } catch (const std::runtime_error&) {
        threw = true;
    }
    CHECK(threw);
    CHECK(census.made == 2);
    CHECK(census.alive == 0);  // dropped by the unwinding, not returned
    CHECK(pool.idle() == 0);
    {
        auto b = co_await pool.acquire();
        CHECK(b->id() == 3);
        try {
            throw std::runtime_error("handled inside the lease's scope");
        } catch (const std::runtime_error&) {
        }
    }  // not unwinding here: returned
    CHECK(pool.idle() == 1);
    CHECK(census.alive == 1);
}

weft::Task<void> factory_throwing_frees_its_slot() {
    Census census;
    int calls = 0;
    weft::Pool<Conn> pool({.max_size = 1, .factory = [&]() -> weft::Task<Conn> {
                               if (++calls <= 2) throw std::runtime_error("connection refused");
                               co_return Conn(census, calls);
                           }});
    for (int i = 0; i < 2; ++i) {
        bool refused = false;
        try {
            auto conn = co_await pool.acquire();
        } catch (const std::runtime_error&) {
            refused = true;
        }
        CHECK(refused);
        CHECK(pool.size() == 0);
    }
    auto conn = co_await pool.acquire();  // the one slot is free again
    CHECK(conn->id() == 3);
    CHECK(pool.size() == 1);
}

weft::Task<void> health_check_drops_and_recreates() {
    Census census;
    int checks = 0;
    weft::Pool<Conn> pool({.max_size = 2,
                           .factory = [&census]() -> weft::Task<Conn> { co_return Conn(census, census.made + 1); },
                           .health_check = [&checks](Conn& c) -> weft::Task<bool> {
                               ++checks;
                               if (c.id() == 2) throw std::runtime_error("ping failed");
                               co_return c.healthy;
                           }});
    {
        auto a = co_await pool.acquire();
        auto b = co_await pool.acquire();
        a->healthy = false;
    }  // both idle: b (id 2) returned first, then a (id 1), so a is reused first
    CHECK(pool.idle() == 2);
    auto c = co_await pool.acquire();  // a fails its check, b's check throws: both dropped
    CHECK(c->id() == 3);
    CHECK(checks == 2);
    CHECK(census.alive == 1);
    CHECK(pool.size() == 1);
    CHECK(pool.idle() == 0);
}

weft::Task<void> idle_timeout_and_max_idle() {
    Census census;
    auto opts = options(census, 3);
    opts.idle_timeout = 1s;
    opts.max_idle = 2;
    weft::Pool<Conn> pool(std::move(opts));
    {
        auto a = co_await pool.acquire();
        auto b = co_await pool.acquire();
        auto c = co_await pool.acquire();
    }  // three returned, two kept
    CHECK(pool.idle() == 2);
    CHECK(census.alive == 2);
    co_await weft::sleep(1500ms);
    {
        auto d = co_await pool.acquire();  // both idle ones are too old: dropped, a new one made
        CHECK(d->id() == 4);
        CHECK(census.alive == 1);
    }
    co_await weft::sleep(500ms);
    auto e = co_await pool.acquire();  // idle for 500 ms: reused
    CHECK(e->id() == 4);
}

weft::Task<void> slow_acquire(weft::Pool<Conn>& pool) { auto conn = co_await pool.acquire(); }

weft::Task<void> cancellation_leaks_no_slot() {
    Census census;
    {  // cancelled while waiting for a slot
        weft::Pool<Conn> pool(options(census, 1));
        auto held = co_await pool.acquire();
        auto waiter = weft::spawn(slow_acquire(pool));
        co_await until_pool_waiting(pool, 1);
        waiter.cancel();
        co_await test::expect_cancelled(std::move(waiter));
        CHECK(pool.waiting() == 0);
        held.release();
        auto again = co_await weft::wait_for(pool.acquire(), 1ms);  // free at once
        CHECK(again->id() == 1);
    }
    {  // cancelled inside the factory
        bool started = false;
        weft::Pool<Conn> pool({.max_size = 1, .factory = [&]() -> weft::Task<Conn> {
                                   started = true;
                                   co_await weft::sleep(1h);
                                   co_return Conn(census, 99);
                               }});
        auto waiter = weft::spawn(slow_acquire(pool));
        while (!started) co_await weft::yield_now();
        CHECK(pool.size() == 1);  // being made
        waiter.cancel();
        co_await test::expect_cancelled(std::move(waiter));
        CHECK(pool.size() == 0);
        bool timed_out = false;
        try {  // the slot is free: the factory runs again (and is timed out in turn)
            auto conn = co_await weft::wait_for(pool.acquire(), 10ms);
        } catch (const weft::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(pool.size() == 0);
    }
    {  // cancelled inside the health check: the object checked is dropped
        Census c2;
        weft::Pool<Conn> pool({.max_size = 1,
                               .factory = [&c2]() -> weft::Task<Conn> { co_return Conn(c2, c2.made + 1); },
                               .health_check = [](Conn&) -> weft::Task<bool> {
                                   co_await weft::sleep(1h);
                                   co_return true;
                               }});
        {
            auto first = co_await pool.acquire();
        }
        CHECK(pool.idle() == 1);
        bool timed_out = false;
        try {
            auto conn = co_await weft::wait_for(pool.acquire(), 10ms);
        } catch (const weft::TimeoutError&) {
            timed_out = true;
        }
        CHECK(timed_out);
        CHECK(c2.alive == 0);
        CHECK(pool.size() == 0);
        CHECK(pool.idle() == 0);
    }
}

// ---- storm ---------------------------------------------------------------------------------

struct StormStats {
    std::atomic<int> leased_now{0};
    std::atomic<int> leased_most{0};
    std::atomic<std::uint64_t> uses{0};
    std::atomic<std::uint64_t> failures{0};
};

weft::Task<void> storm_client(weft::Pool<Conn>& pool, StormStats& stats, std::uint64_t seed, int rounds) {
    std::uint64_t rng = seed;
    for (int i = 0; i < rounds; ++i) {
        const std::uint64_t dice = test::splitmix64(rng) % 16;
        try {
            auto conn = co_await pool.acquire();
            struct Leased {  // counted while this task holds the lease, however it ends
                StormStats& stats;
                explicit Leased(StormStats& s) : stats(s) {
                    int now_leased = stats.leased_now.fetch_add(1) + 1;
                    int most = stats.leased_most.load();
                    while (now_leased > most && !stats.leased_most.compare_exchange_weak(most, now_leased)) {
                    }
                }
                ~Leased() { stats.leased_now.fetch_sub(1); }
            } leased(stats);
            co_await weft::yield_now();
            stats.uses.fetch_add(1);
            if (dice == 0) conn.discard();
            if (dice == 1) conn->healthy = false;
            if (dice == 2) throw std::runtime_error("request failed");
        } catch (const std::runtime_error&) {
            stats.failures.fetch_add(1);
        }
    }
}

void pool_storm(unsigned workers) {
    Census census;
    StormStats stats;
    std::atomic<int> factory_calls{0};
    constexpr std::size_t kMax = 4;
    const int clients = 64;
    const int rounds = test::scaled(500, 60);
    weft::run(
        [&]() -> weft::Task<void> {
            weft::Pool<Conn> pool({.max_size = kMax,
                                   .factory = [&]() -> weft::Task<Conn> {
                                       int call = factory_calls.fetch_add(1) + 1;
                                       co_await weft::yield_now();
                                       if (call % 7 == 0) throw std::runtime_error("factory failed");
                                       co_return Conn(census, call);
                                   },
                                   .health_check = [](Conn& c) -> weft::Task<bool> {
                                       co_await weft::yield_now();
                                       co_return c.healthy;
                                   }});
            std::vector<weft::JoinHandle<void>> handles;
            for (int i = 0; i < clients; ++i)
                handles.push_back(
                    weft::spawn(storm_client(pool, stats, 0xC0FFEE + static_cast<std::uint64_t>(i), rounds)));
            std::uint64_t rng = 42 + workers;
            int cancelled = 0;
            for (int k = 0; k < clients * 4; ++k) {  // chaos: cancel some clients and start others
                co_await weft::yield_now();
                auto& victim = handles[test::splitmix64(rng) % handles.size()];
                victim.cancel();
                try {
                    co_await victim;
                } catch (const weft::CancelledError&) {
                    ++cancelled;
                }
                victim = weft::spawn(storm_client(pool, stats, test::splitmix64(rng), rounds));
            }
            for (auto& h : handles) co_await h;
            CHECK(cancelled > 0);
            CHECK(pool.in_use() == 0);
            CHECK(pool.waiting() == 0);
            CHECK(pool.size() == pool.idle());
            CHECK(census.alive.load() == static_cast<int>(pool.idle()));
            // Every slot is back: max_size leases at once, without waiting.
            std::vector<weft::Pool<Conn>::Lease> all;
            for (std::size_t i = 0; i < kMax; ++i) {
                for (;;) {  // (the factory fails every 7th call)
                    try {
                        auto lease = co_await weft::wait_for(pool.acquire(), 10s);
                        all.push_back(std::move(lease));
                        break;
                    } catch (const std::runtime_error&) {
                    }
                }
            }
            CHECK(pool.size() == kMax);
            CHECK(pool.waiting() == 0);
        }(),
        test::workers(workers));
    CHECK(census.most.load() <= static_cast<int>(kMax));
    CHECK(stats.leased_most.load() <= static_cast<int>(kMax));
    CHECK(census.alive.load() == 0);  // the pool's destructor dropped the idle ones
    CHECK(stats.uses.load() > 0);
}

// True if acquire() failed with PoolClosed (a lease it got is returned at once).
weft::Task<bool> acquire_refused(weft::Pool<Conn>& pool) {
    try {
        auto conn = co_await pool.acquire();
    } catch (const weft::PoolClosed&) {
        co_return true;
    }
    co_return false;
}

weft::Task<void> close_refuses_and_drops() {
    Census census;
    weft::Pool<Conn> pool(options(census, 1));
    auto held = co_await pool.acquire();
    auto w1 = weft::spawn(acquire_refused(pool));
    auto w2 = weft::spawn(acquire_refused(pool));
    co_await until_pool_waiting(pool, 2);
    CHECK_FALSE(pool.closed());
    pool.close();
    CHECK(pool.closed());
    bool refused1 = co_await w1;  // waiters: PoolClosed
    bool refused2 = co_await w2;
    CHECK(refused1);
    CHECK(refused2);
    bool refused_later = co_await acquire_refused(pool);  // and every acquire() after
    CHECK(refused_later);
    CHECK(held->id() == 1);  // a lease held stays usable
    CHECK(census.alive == 1);
    held.release();  // returned after close: dropped, not kept idle
    CHECK(census.alive == 0);
    CHECK(pool.idle() == 0);
    CHECK(pool.size() == 0);
    pool.close();  // again: nothing to do
    CHECK(pool.waiting() == 0);
}

weft::Task<void> close_drops_an_object_made_after_it() {
    Census census;
    weft::Event factory_may_finish;
    weft::Pool<Conn> pool({.max_size = 2, .factory = [&]() -> weft::Task<Conn> {
                               if (census.made.load() == 1) co_await factory_may_finish.wait();
                               co_return Conn(census, census.made.load() + 1);
                           }});
    auto first = co_await pool.acquire();
    auto in_factory = weft::spawn(acquire_refused(pool));  // makes the second, held up
    co_await test::settle();
    CHECK(pool.size() == 2);  // (one being made)
    pool.close();
    factory_may_finish.set();
    bool refused = co_await in_factory;
    CHECK(refused);  // made after the close: dropped, and acquire() refused
    CHECK(census.made == 2);
    CHECK(census.alive == 1);
    first.release();
    CHECK(census.alive == 0);
    CHECK(pool.size() == 0);
}

weft::Task<void> idle_dropped_at_close() {
    Census census;
    weft::Pool<Conn> pool(options(census, 3));
    {
        auto a = co_await pool.acquire();
        auto b = co_await pool.acquire();
    }
    CHECK(pool.idle() == 2);
    CHECK(census.alive == 2);
    pool.close();
    CHECK(pool.idle() == 0);
    CHECK(census.alive == 0);
    CHECK(pool.size() == 0);
}

// Clients acquire in a loop on several workers while the pool closes under them: each ends
// refused, nothing is left alive, no waiter is stranded.
void close_storm(unsigned workers) {
    Census census;
    weft::run(
        [](Census& census) -> weft::Task<void> {
            weft::Pool<Conn> pool(options(census, 3));
            std::atomic<int> refused{0};
            std::vector<weft::JoinHandle<void>> clients;
            const int n = test::scaled(64, 16);
            for (int i = 0; i < n; ++i) {
                clients.push_back(
                    weft::spawn([](weft::Pool<Conn>& pool, std::atomic<int>& refused) -> weft::Task<void> {
                        for (;;) {
                            try {
                                auto conn = co_await pool.acquire();
                                co_await weft::yield_now();
                            } catch (const weft::PoolClosed&) {
                                refused.fetch_add(1);
                                co_return;
                            }
                        }
                    }(pool, refused)));
            }
            for (int i = 0; i < 50; ++i) co_await weft::yield_now();
            pool.close();
            for (auto& c : clients) co_await c;
            CHECK(refused.load() == n);
            CHECK(pool.size() == 0);
            CHECK(pool.waiting() == 0);
        }(census),
        test::workers(workers));
    CHECK(census.alive == 0);
}

}  // namespace

TEST_CASE("Pool: close() refuses waiters and later acquires with PoolClosed, drops leases returned after",
          "[sync][pool][close]") {
    weft::run(close_refuses_and_drops(), test::one_worker());
}

TEST_CASE("Pool: close() drops idle objects at once and an object made after it", "[sync][pool][close]") {
    weft::run(idle_dropped_at_close(), test::one_worker());
    weft::run(close_drops_an_object_made_after_it(), test::one_worker());
}

TEST_CASE("Pool: close() while clients on several workers acquire: every one refused, nothing left",
          "[sync][pool][close][stress]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    close_storm(workers);
}

TEST_CASE("Pool: objects are reused, waiters are served FIFO", "[sync][pool]") {
    weft::run(reuse_and_fifo_waiters(), test::one_worker());
}

TEST_CASE("Pool: discard() and an exception unwinding drop the object", "[sync][pool]") {
    weft::run(discard_and_errors_drop_the_object(), test::one_worker());
}

TEST_CASE("Pool: a factory that throws gives its slot back", "[sync][pool]") {
    weft::run(factory_throwing_frees_its_slot(), test::one_worker());
}

TEST_CASE("Pool: a failed or throwing health check drops the object, a new one is made", "[sync][pool]") {
    weft::run(health_check_drops_and_recreates(), test::one_worker());
}

TEST_CASE("Pool: idle_timeout and max_idle drop idle objects", "[sync][pool]") {
    weft::run(idle_timeout_and_max_idle(), test::paused_clock());
}

TEST_CASE("Pool: cancellation waiting, in the factory or in the health check leaks no slot", "[sync][pool][cancel]") {
    weft::run(cancellation_leaks_no_slot(), test::paused_clock());
}

TEST_CASE("Pool: options that cannot work are a UsageError", "[sync][pool]") {
    Census census;
    CHECK_THROWS_AS(weft::Pool<Conn>(options(census, 0)), weft::UsageError);
    CHECK_THROWS_AS(weft::Pool<Conn>({.max_size = 1}), weft::UsageError);
}

TEST_CASE("Pool: storm on 2 workers: never more than max_size objects, every slot back", "[sync][pool][stress]") {
    pool_storm(2);
}

TEST_CASE("Pool: storm on 4 workers: never more than max_size objects, every slot back", "[sync][pool][stress]") {
    pool_storm(4);
}
