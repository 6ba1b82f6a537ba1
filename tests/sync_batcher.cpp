// weft::Batcher<In, Out>: on the paused clock, the size trigger and the delay trigger at exact
// instants, items in submission order, each caller its own result; errors reaching every
// caller (the function's exception, a wrong result count); a cancelled caller not breaking the
// batch (its item still processed); close() running what is pending, the destructor failing
// it with BatcherClosed; max_concurrent; then 10,000 callers on 4 workers, and a storm with
// random timeouts, every answer checked and every item counted.
#include <catch2/catch.hpp>

#include <weft/batcher.hpp>
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

// The batches the function saw, as "<ms>:<items>" (one worker: no lock needed).
struct Seen {
    weft::Clock::time_point start = weft::now();
    std::vector<std::string> batches;
    void record(const std::vector<int>& items) {
        std::string entry = std::to_string(test::ms_since(start)) + ":";
        for (int item : items) entry += std::to_string(item) + ",";
        batches.push_back(entry);
    }
};

using IntBatcher = weft::Batcher<int, std::string>;

IntBatcher::BatchFn echo(Seen& seen) {
    return [&seen](std::vector<int> items) -> weft::Task<std::vector<std::string>> {
        seen.record(items);
        std::vector<std::string> out;
        for (int item : items)
            out.push_back(std::string("r") + std::to_string(item));  // (g++ 12: not "r" + ..., -Wrestrict)
        co_return out;
    };
}

weft::Task<std::string> submit(IntBatcher& batcher, int item) { co_return co_await batcher.submit(item); }

weft::Task<void> until_pending(const IntBatcher& batcher, std::size_t count) {
    while (batcher.pending() < count) co_await weft::yield_now();
}

weft::Task<void> size_trigger() {
    Seen seen;
    IntBatcher batcher(echo(seen), {.max_size = 3, .max_delay = 1s});
    auto a = weft::spawn(submit(batcher, 1));
    co_await until_pending(batcher, 1);
    auto b = weft::spawn(submit(batcher, 2));
    co_await until_pending(batcher, 2);
    auto c = weft::spawn(submit(batcher, 3));  // the third closes the batch
    std::string ra = co_await a;
    std::string rb = co_await b;
    std::string rc = co_await c;
    CHECK(ra == "r1");
    CHECK(rb == "r2");
    CHECK(rc == "r3");
    CHECK(seen.batches == std::vector<std::string>{"0:1,2,3,"});
    CHECK(test::ms_since(seen.start) == 0);
    co_await weft::sleep(2s);  // the batch's delay never fires a second run
    CHECK(seen.batches.size() == 1);
    CHECK(batcher.in_flight() == 0);
}

weft::Task<void> delay_trigger() {
    Seen seen;
    IntBatcher batcher(echo(seen), {.max_size = 10, .max_delay = 50ms});
    auto a = weft::spawn(submit(batcher, 1));
    co_await until_pending(batcher, 1);
    co_await weft::sleep(20ms);
    auto b = weft::spawn(submit(batcher, 2));  // joins the batch opened at 0
    std::string rb = co_await b;
    std::string ra = co_await a;
    CHECK(ra == "r1");
    CHECK(rb == "r2");
    CHECK(test::ms_since(seen.start) == 50);
    auto c = weft::spawn(submit(batcher, 3));  // a new batch, due 50 ms after it opened
    std::string rc = co_await c;
    CHECK(rc == "r3");
    CHECK(seen.batches == std::vector<std::string>{"50:1,2,", "100:3,"});
}

weft::Task<std::string> submit_catching(IntBatcher& batcher, int item) {
    try {
        co_return co_await batcher.submit(item);
    } catch (const weft::BatchError& e) {
        co_return std::string("BatchError: ") + e.what();
    } catch (const std::exception& e) {
        co_return std::string("error: ") + e.what();
    }
}

weft::Task<void> errors_reach_every_caller() {
    {
        IntBatcher batcher(
            [](std::vector<int>) -> weft::Task<std::vector<std::string>> {
                throw std::runtime_error("database down");
                co_return std::vector<std::string>{};
            },
            {.max_size = 2, .max_delay = 1s});
        auto a = weft::spawn(submit_catching(batcher, 1));
        auto b = weft::spawn(submit_catching(batcher, 2));
        std::string ra = co_await a;
        std::string rb = co_await b;
        CHECK(ra == "error: database down");
        CHECK(rb == "error: database down");
    }
    {
        IntBatcher batcher(
            [](std::vector<int>) -> weft::Task<std::vector<std::string>> {
                co_return std::vector<std::string>{"only one"};
            },
            {.max_size = 2, .max_delay = 1s});
        auto a = weft::spawn(submit_catching(batcher, 1));
        auto b = weft::spawn(submit_catching(batcher, 2));
        std::string ra = co_await a;
        std::string rb = co_await b;
        CHECK(ra.find("BatchError: ") == 0);
        CHECK(ra.find("returned 1 results for 2 items") != std::string::npos);
        CHECK(rb == ra);
    }
}

weft::Task<void> cancelled_caller_does_not_break_the_batch() {
    Seen seen;
    IntBatcher batcher(echo(seen), {.max_size = 10, .max_delay = 50ms});
    auto a = weft::spawn(submit(batcher, 1));
    co_await until_pending(batcher, 1);
    auto b = weft::spawn(submit(batcher, 2));
    co_await until_pending(batcher, 2);
    auto c = weft::spawn(submit(batcher, 3));
    co_await until_pending(batcher, 3);
    b.cancel();
    co_await test::expect_cancelled(std::move(b));
    std::string ra = co_await a;
    std::string rc = co_await c;
    CHECK(ra == "r1");
    CHECK(rc == "r3");
    CHECK(seen.batches == std::vector<std::string>{"50:1,2,3,"});  // b's item was still processed
    // A caller timing out in the batch function's run: the others still get theirs.
    IntBatcher slow(
        [](std::vector<int> items) -> weft::Task<std::vector<std::string>> {
            co_await weft::sleep(100ms);
            co_return std::vector<std::string>(items.size(), "late");
        },
        {.max_size = 2, .max_delay = 1s});
    bool timed_out = false;
    auto d = weft::spawn(submit(slow, 4));
    try {
        (void)co_await weft::wait_for(slow.submit(5), 50ms);
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    std::string rd = co_await d;
    CHECK(timed_out);
    CHECK(rd == "late");
}

weft::Task<void> close_runs_what_is_pending() {
    Seen seen;
    IntBatcher batcher(echo(seen), {.max_size = 10, .max_delay = 1h});
    auto a = weft::spawn(submit(batcher, 1));
    auto b = weft::spawn(submit(batcher, 2));
    co_await until_pending(batcher, 2);
    co_await batcher.close();  // no waiting for the hour
    CHECK(test::ms_since(seen.start) == 0);
    CHECK(batcher.in_flight() == 0);
    std::string ra = co_await a;
    std::string rb = co_await b;
    CHECK(ra == "r1");
    CHECK(rb == "r2");
    bool refused = false;
    try {
        (void)co_await batcher.submit(3);
    } catch (const weft::BatcherClosed&) {
        refused = true;
    }
    CHECK(refused);
    co_await batcher.close();  // again: returns at once
}

weft::Task<void> destructor_fails_the_open_batch() {
    Seen seen;
    auto batcher = std::make_unique<IntBatcher>(echo(seen), IntBatcher::Options{.max_size = 10, .max_delay = 1h});
    auto a = weft::spawn(submit_catching(*batcher, 1));
    co_await until_pending(*batcher, 1);
    batcher.reset();
    std::string ra = co_await a;
    CHECK(ra.find("error: weft::Batcher: the batcher is closed") == 0);
    CHECK(seen.batches.empty());
    CHECK(test::ms_since(seen.start) == 0);  // no hang until the hour
}

weft::Task<void> max_concurrent_runs_batches_in_turn() {
    Seen seen;
    IntBatcher batcher(
        [&seen](std::vector<int> items) -> weft::Task<std::vector<std::string>> {
            seen.record(items);
            co_await weft::sleep(100ms);
            co_return std::vector<std::string>(items.size(), "ok");
        },
        {.max_size = 1, .max_delay = 1s, .max_concurrent = 1});
    std::vector<weft::JoinHandle<std::string>> handles;
    for (int i = 1; i <= 3; ++i) {
        handles.push_back(weft::spawn(submit(batcher, i)));
        while (batcher.in_flight() < static_cast<std::size_t>(i)) co_await weft::yield_now();
    }
    for (auto& h : handles) co_await h;
    CHECK(seen.batches == std::vector<std::string>{"0:1,", "100:2,", "200:3,"});
    CHECK(test::ms_since(seen.start) == 300);
}

weft::Task<void> misuse() {
    CHECK_THROWS_AS(IntBatcher(IntBatcher::BatchFn{}), weft::UsageError);
    Seen seen;
    CHECK_THROWS_AS(IntBatcher(echo(seen), {.max_size = 0}), weft::UsageError);
    CHECK_THROWS_AS(IntBatcher(echo(seen), {.max_delay = -1ms}), weft::UsageError);
    co_return;
}

// ---- many workers ----------------------------------------------------------------------------

struct Tally {
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> items{0};
    std::atomic<std::uint64_t> oversized{0};
    std::atomic<std::uint64_t> right{0};
    std::atomic<std::uint64_t> wrong{0};
    std::atomic<std::uint64_t> timed_out{0};
    std::atomic<std::uint64_t> duplicates{0};
    std::unique_ptr<std::atomic<std::uint8_t>[]> seen;  // per item: processed how often
};

weft::Batcher<std::uint64_t, std::uint64_t>::BatchFn squares(Tally& tally, std::size_t max_size) {
    return [&tally, max_size](std::vector<std::uint64_t> items) -> weft::Task<std::vector<std::uint64_t>> {
        tally.batches.fetch_add(1);
        tally.items.fetch_add(items.size());
        if (items.size() > max_size) tally.oversized.fetch_add(1);
        for (std::uint64_t x : items)
            if (tally.seen[x].fetch_add(1) != 0) tally.duplicates.fetch_add(1);
        co_await weft::yield_now();
        std::vector<std::uint64_t> out;
        out.reserve(items.size());
        for (std::uint64_t x : items) out.push_back(x * x + 1);
        co_return out;
    };
}

void many_callers(unsigned workers, bool with_timeouts) {
    Tally tally;
    const std::uint64_t callers = test::scaled<std::uint64_t>(10'000, 2'000);
    tally.seen = std::make_unique<std::atomic<std::uint8_t>[]>(callers);
    constexpr std::size_t kMax = 32;
    weft::run(
        [&]() -> weft::Task<void> {
            weft::Batcher<std::uint64_t, std::uint64_t> batcher(squares(tally, kMax),
                                                                {.max_size = kMax, .max_delay = 1ms});
            std::vector<weft::JoinHandle<void>> handles;
            handles.reserve(callers);
            for (std::uint64_t i = 0; i < callers; ++i) {
                handles.push_back(weft::spawn([](weft::Batcher<std::uint64_t, std::uint64_t>& b, std::uint64_t x,
                                                 bool timeouts, Tally& t) -> weft::Task<void> {
                    std::uint64_t rng = x;
                    try {
                        std::uint64_t r = 0;
                        if (timeouts && test::splitmix64(rng) % 4 == 0) {
                            r = co_await weft::wait_for(b.submit(x),
                                                        std::chrono::microseconds(test::splitmix64(rng) % 2000));
                        } else {
                            r = co_await b.submit(x);
                        }
                        (r == x * x + 1 ? t.right : t.wrong).fetch_add(1);
                    } catch (const weft::TimeoutError&) {
                        t.timed_out.fetch_add(1);
                    }
                }(batcher, i, with_timeouts, tally)));
            }
            for (auto& h : handles) co_await std::move(h);
            co_await batcher.close();  // every batch finished, the abandoned callers' included
            CHECK(batcher.in_flight() == 0);
        }(),
        test::workers(workers));
    CHECK(tally.wrong.load() == 0);
    CHECK(tally.right.load() + tally.timed_out.load() == callers);
    CHECK(tally.duplicates.load() == 0);
    // Every answered item was processed once; a caller that timed out after its submit began
    // has its item processed too (one that timed out before it began added none).
    CHECK(tally.items.load() >= tally.right.load());
    CHECK(tally.items.load() <= callers);
    if (!with_timeouts) CHECK(tally.items.load() == callers);
    CHECK(tally.oversized.load() == 0);
    CHECK(tally.batches.load() >= (callers + kMax - 1) / kMax);
    if (!with_timeouts) CHECK(tally.timed_out.load() == 0);
}

}  // namespace

TEST_CASE("Batcher: a batch closes at max_size, each caller gets its own result", "[sync][batcher]") {
    weft::run(size_trigger(), test::paused_clock());
}

TEST_CASE("Batcher: a batch closes max_delay after it opened", "[sync][batcher]") {
    weft::run(delay_trigger(), test::paused_clock());
}

TEST_CASE("Batcher: the function's exception or a wrong result count reaches every caller", "[sync][batcher]") {
    weft::run(errors_reach_every_caller(), test::paused_clock());
}

TEST_CASE("Batcher: a cancelled caller does not break the batch, its item is still processed",
          "[sync][batcher][cancel]") {
    weft::run(cancelled_caller_does_not_break_the_batch(), test::paused_clock());
}

TEST_CASE("Batcher: close() runs the pending batch, then submit() throws BatcherClosed", "[sync][batcher]") {
    weft::run(close_runs_what_is_pending(), test::paused_clock());
}

TEST_CASE("Batcher: the destructor fails the open batch's callers with BatcherClosed", "[sync][batcher]") {
    weft::run(destructor_fails_the_open_batch(), test::paused_clock());
}

TEST_CASE("Batcher: max_concurrent runs the batches in turn", "[sync][batcher]") {
    weft::run(max_concurrent_runs_batches_in_turn(), test::paused_clock());
}

TEST_CASE("Batcher: options that cannot work are a UsageError", "[sync][batcher]") {
    weft::run(misuse(), test::paused_clock());
}

TEST_CASE("Batcher: 10,000 callers on 4 workers each get exactly their own answer", "[sync][batcher][stress]") {
    many_callers(4, false);
}

TEST_CASE("Batcher: callers timing out at random on 2 workers: the others' answers, every item once",
          "[sync][batcher][stress][cancel]") {
    many_callers(2, true);
}
