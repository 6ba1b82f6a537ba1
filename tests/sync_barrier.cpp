// weft::Barrier (asyncio 3.11 semantics) on one worker, step by step: arrival indices, rounds,
// abort, reset, cancellation; then many rounds on several workers.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "support/clock.hpp"
#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<std::size_t> arrive(weft::Barrier& barrier) { co_return co_await barrier.wait(); }

weft::Task<std::string> arrive_expect_broken(weft::Barrier& barrier) {
    try {
        co_await barrier.wait();
    } catch (const weft::BrokenBarrierError& e) {
        co_return e.what();
    }
    co_return "passed";
}

weft::Task<void> indices_in_arrival_order() {
    weft::Barrier barrier(3);
    CHECK(barrier.parties() == 3);
    auto a = weft::spawn(arrive(barrier));
    co_await weft::testing::until_waiters(barrier, 1);
    auto b = weft::spawn(arrive(barrier));
    co_await weft::testing::until_waiters(barrier, 2);
    CHECK(barrier.n_waiting() == 2);
    std::size_t mine = co_await barrier.wait();  // the last arrival: passes at once
    CHECK(mine == 2);
    {
        auto got = co_await a;
        CHECK(got == 0);
    }
    {
        auto got = co_await b;
        CHECK(got == 1);
    }
    CHECK(barrier.n_waiting() == 0);
    // The next round starts empty.
    auto c = weft::spawn(arrive(barrier));
    co_await weft::testing::until_waiters(barrier, 1);
    auto d = weft::spawn(arrive(barrier));
    std::size_t sum = co_await barrier.wait();
    sum += co_await c;
    sum += co_await d;
    CHECK(sum == 0 + 1 + 2);
    weft::Barrier alone(1);
    {
        auto got = co_await alone.wait();
        CHECK(got == 0);
    }
    {
        auto got = co_await alone.wait();
        CHECK(got == 0);
    }
}

weft::Task<void> abort_breaks_until_reset() {
    weft::Barrier barrier(3);
    auto a = weft::spawn(arrive_expect_broken(barrier));
    co_await weft::testing::until_waiters(barrier, 1);
    barrier.abort();
    CHECK(barrier.broken());
    {
        auto got = co_await a;
        CHECK(got != "passed");
    }
    {
        auto got = co_await arrive_expect_broken(barrier);  // future waits fail too
        CHECK(got != "passed");
    }
    barrier.reset();
    CHECK_FALSE(barrier.broken());
    auto b = weft::spawn(arrive(barrier));
    auto c = weft::spawn(arrive(barrier));
    co_await weft::testing::until_waiters(barrier, 2);
    {
        auto got = co_await barrier.wait();
        CHECK(got == 2);
    }
    co_await b;
    co_await c;
}

weft::Task<void> reset_fails_the_waiters() {
    weft::Barrier barrier(3);
    auto a = weft::spawn(arrive_expect_broken(barrier));
    auto b = weft::spawn(arrive_expect_broken(barrier));
    co_await weft::testing::until_waiters(barrier, 2);
    barrier.reset();
    CHECK_FALSE(barrier.broken());
    CHECK(barrier.n_waiting() == 0);
    {
        auto got = co_await a;
        CHECK_THAT(got, Catch::Contains("reset"));
    }
    {
        auto got = co_await b;
        CHECK_THAT(got, Catch::Contains("reset"));
    }
}

weft::Task<void> cancelled_waiter_leaves() {
    weft::Barrier barrier(2);
    auto a = weft::spawn(arrive(barrier));
    co_await weft::testing::until_waiters(barrier, 1);
    a.cancel();
    co_await test::expect_cancelled(std::move(a));
    CHECK(barrier.n_waiting() == 0);
    CHECK_FALSE(barrier.broken());
    auto b = weft::spawn(arrive(barrier));
    co_await weft::testing::until_waiters(barrier, 1);
    {
        auto got = co_await barrier.wait();
        CHECK(got == 1);
    }
    {
        auto got = co_await b;
        CHECK(got == 0);
    }
    bool timed_out = false;
    try {
        auto deadline = weft::timeout(5ms);
        co_await barrier.wait();
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(barrier.n_waiting() == 0);
}

weft::Task<void> rounds_player(weft::Barrier& barrier, int rounds, std::vector<std::atomic<unsigned>>& seen,
                               std::atomic<int>& duplicates) {
    for (int r = 0; r < rounds; ++r) {
        std::size_t index = co_await barrier.wait();
        unsigned bit = 1u << index;
        if (seen[static_cast<std::size_t>(r)].fetch_or(bit) & bit) duplicates.fetch_add(1);
        if (r % 5 == 0) co_await weft::yield_now();
    }
}

weft::Task<void> many_rounds(int parties, int rounds) {
    weft::Barrier barrier(static_cast<std::size_t>(parties));
    std::vector<std::atomic<unsigned>> seen(static_cast<std::size_t>(rounds));
    std::atomic<int> duplicates{0};
    std::vector<weft::JoinHandle<void>> tasks;
    for (int i = 0; i < parties; ++i) tasks.push_back(weft::spawn(rounds_player(barrier, rounds, seen, duplicates)));
    for (auto& task : tasks) co_await task;
    CHECK(duplicates.load() == 0);
    const unsigned all = (1u << parties) - 1;
    int complete = 0;
    for (auto& round : seen) complete += round.load() == all ? 1 : 0;
    CHECK(complete == rounds);  // every round handed out each index exactly once
}

}  // namespace

TEST_CASE("Barrier: wait returns the arrival index, the last arrival releases the round", "[sync][barrier]") {
    weft::run(indices_in_arrival_order(), test::one_worker());
}

TEST_CASE("Barrier: abort breaks it for waiting and future tasks until reset", "[sync][barrier]") {
    weft::run(abort_breaks_until_reset(), test::one_worker());
}

TEST_CASE("Barrier: reset fails the waiting tasks and starts over", "[sync][barrier]") {
    weft::run(reset_fails_the_waiters(), test::one_worker());
}

TEST_CASE("Barrier: a cancelled or timed-out waiter leaves the round without breaking it", "[sync][barrier][cancel]") {
    weft::run(cancelled_waiter_leaves(), test::paused_clock());
}

TEST_CASE("Barrier: parties must be at least 1", "[sync][barrier]") {
    CHECK_THROWS_AS(weft::Barrier(0), weft::UsageError);
}

TEST_CASE("Barrier: many rounds on several workers", "[sync][barrier][stress]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    weft::run(many_rounds(5, test::scaled(2000, 200)), test::workers(workers));
}
