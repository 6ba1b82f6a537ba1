// gather, gather(return_exceptions), when_all, when_any, wait and as_completed.
//
// The ordering tests run on the paused clock (one worker, virtual time): tasks finish at
// exact instants in an order that differs from their argument order.
#include <catch2/catch.hpp>

#include <weft/gather.hpp>
#include <weft/sleep.hpp>
#include <weft/wait.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "support/clock.hpp"
#include "support/counted.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

struct Tally {
    std::atomic<int> cleanups{0};
    std::atomic<int> cancelled{0};
    std::atomic<int> finished{0};
};

// One worker on the paused clock: `order` needs no lock.
weft::Task<int> after(std::chrono::milliseconds delay, int value, std::string* order = nullptr,
                      Tally* tally = nullptr) {
    std::optional<test::Cleanup> cleanup;
    if (tally) cleanup.emplace(&tally->cleanups);
    try {
        co_await weft::sleep(delay);
    } catch (const weft::CancelledError&) {
        if (tally) tally->cancelled.fetch_add(1);
        throw;
    }
    if (order) *order += std::to_string(value);
    if (tally) tally->finished.fetch_add(1);
    co_return value;
}

weft::Task<int> fail_after(std::chrono::milliseconds delay, std::string message) {
    co_await weft::sleep(delay);
    throw std::runtime_error(message);
}

weft::Task<std::string> text_after(std::chrono::milliseconds delay, std::string text) {
    co_await weft::sleep(delay);
    co_return text;
}

weft::Task<void> nothing_after(std::chrono::milliseconds delay) { co_await weft::sleep(delay); }

// ---- gather
// --------------------------------------------------------------------------------------

struct GatherRun {
    std::tuple<int, std::string, std::monostate, int> values;
    std::vector<int> vector_values;
    std::string order;
    std::int64_t at_ms = -1;
};

weft::Task<GatherRun> gather_in_argument_order() {
    const auto start = weft::now();
    GatherRun out;
    out.values = co_await weft::gather(after(30ms, 1, &out.order), text_after(10ms, "two"), nothing_after(20ms),
                                       after(5ms, 4, &out.order));
    std::vector<weft::Task<int>> tasks;
    for (int i = 0; i < 5; ++i) tasks.push_back(after(std::chrono::milliseconds(50 - 10 * i), i, &out.order));
    out.vector_values = co_await weft::gather(std::move(tasks));
    out.at_ms = test::ms_since(start);
    co_return out;
}

struct FailFast {
    std::string error;
    std::int64_t at_ms = -1;
    bool other_finished_at_failure = true;
    bool other_finished_later = false;
};

weft::Task<FailFast> gather_fails_fast(Tally* tally) {
    const auto start = weft::now();
    FailFast out;
    try {
        co_await weft::gather(after(100ms, 1, nullptr, tally), fail_after(10ms, "boom"));
    } catch (const std::runtime_error& e) {
        out.error = e.what();
        out.at_ms = test::ms_since(start);
        out.other_finished_at_failure = tally->finished.load() != 0;
    }
    co_await weft::sleep(1h);  // the other task keeps running: it finishes at 100 ms
    out.other_finished_later = tally->finished.load() == 1;
    co_return out;
}

weft::Task<std::vector<weft::Outcome<int>>> gather_collecting_exceptions() {
    std::vector<weft::Task<int>> tasks;
    tasks.push_back(after(30ms, 1));
    tasks.push_back(fail_after(10ms, "second"));
    tasks.push_back(after(20ms, 3));
    tasks.push_back(fail_after(40ms, "fourth"));
    co_return co_await weft::gather(weft::return_exceptions, std::move(tasks));
}

weft::Task<std::tuple<weft::Outcome<int>, weft::Outcome<std::string>>> gather_tuple_collecting_exceptions() {
    co_return co_await weft::gather(weft::return_exceptions, fail_after(5ms, "first"), text_after(10ms, "ok"));
}

weft::Task<int> gather_then_cancelled(Tally* tally) {
    auto [a, b] = co_await weft::gather(after(1h, 1, nullptr, tally), after(2h, 2, nullptr, tally));
    co_return a + b;
}

weft::Task<bool> cancel_a_gatherer(Tally* tally) {
    auto gatherer = weft::spawn(gather_then_cancelled(tally));
    co_await weft::sleep(10ms);
    gatherer.cancel();
    bool threw = false;
    try {
        co_await gatherer;
    } catch (const weft::CancelledError&) {
        threw = true;
    }
    co_return threw && tally->cleanups.load() == 2;  // the children unwound before the gather ended
}

// Cancelled, it cleans up for 50 ms (awaited: a flush, a ROLLBACK), writing to `log`, a local of
// the gathering task's frame.
weft::Task<int> slow_to_unwind(std::string* log, std::chrono::milliseconds cleanup) {
    bool cancelled = false;
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    if (cancelled) {
        co_await weft::sleep(cleanup);
        *log += "cleaned;";
        throw weft::CancelledError();
    }
    co_return 1;
}

struct GatherCancelled {
    bool threw = false;
    std::string log_when_gather_threw;
    std::int64_t at_ms = -1;
};

weft::Task<void> gather_with_a_local_log(GatherCancelled* out) {
    std::string log;
    const auto start = weft::now();
    try {
        co_await weft::gather(slow_to_unwind(&log, 50ms), slow_to_unwind(&log, 30ms));
    } catch (const weft::CancelledError&) {
        out->threw = true;
        out->log_when_gather_threw = log;
        out->at_ms = test::ms_since(start);
        throw;
    }
}

weft::Task<GatherCancelled> cancel_a_gatherer_whose_children_unwind_slowly() {
    GatherCancelled out;
    auto gatherer = weft::spawn(gather_with_a_local_log(&out));
    co_await weft::sleep(10ms);
    gatherer.cancel();
    try {
        co_await gatherer;
    } catch (const weft::CancelledError&) {
    }
    co_return out;
}

weft::Task<std::vector<int>> gather_nothing() { co_return co_await weft::gather(std::vector<weft::Task<int>>{}); }

// ---- when_all / when_any
// ---------------------------------------------------------------------------

weft::Task<FailFast> when_all_waits_for_everyone(Tally* tally) {
    const auto start = weft::now();
    FailFast out;
    try {
        co_await weft::when_all(fail_after(20ms, "first"), after(100ms, 1, nullptr, tally), fail_after(10ms, "third"));
    } catch (const std::runtime_error& e) {
        out.error = e.what();
        out.at_ms = test::ms_since(start);
        out.other_finished_at_failure = tally->finished.load() == 1;
    }
    co_return out;
}

struct AnyRun {
    std::size_t index = 99;
    int value = 0;
    std::int64_t at_ms = -1;
    int losers_cleaned_at_return = -1;
    int losers_cancelled_at_return = -1;
};

weft::Task<AnyRun> when_any_first_wins(Tally* tally) {
    const auto start = weft::now();
    AnyRun out;
    std::vector<weft::Task<int>> tasks;
    tasks.push_back(after(30ms, 10, nullptr, tally));
    tasks.push_back(after(10ms, 11, nullptr, tally));
    tasks.push_back(after(1h, 12, nullptr, tally));
    auto winner = co_await weft::when_any(std::move(tasks));
    out.index = winner.index;
    out.value = winner.value;
    out.at_ms = test::ms_since(start);
    out.losers_cleaned_at_return = tally->cleanups.load();
    out.losers_cancelled_at_return = tally->cancelled.load();
    co_return out;
}

weft::Task<std::string> when_any_winner_fails() {
    try {
        co_await weft::when_any(after(30ms, 1), fail_after(10ms, "fast failure"));
    } catch (const std::runtime_error& e) {
        co_return e.what();
    }
    co_return "";
}

weft::Task<bool> when_any_of_nothing() {
    try {
        co_await weft::when_any(std::vector<weft::Task<int>>{});
    } catch (const weft::UsageError&) {
        co_return true;
    }
    co_return false;
}

// ---- wait / as_completed
// -----------------------------------------------------------------------------

struct WaitRun {
    std::vector<std::size_t> done;
    std::vector<std::size_t> pending;
    std::int64_t at_ms = -1;
    int pending_cancelled = 0;
    bool all_cancelled_flags = false;
};

weft::Task<WaitRun> wait_first_completed(Tally* tally) {
    const auto start = weft::now();
    WaitRun out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(30ms, 0, nullptr, tally)));
    handles.push_back(weft::spawn(after(10ms, 1, nullptr, tally)));
    handles.push_back(weft::spawn(after(20ms, 2, nullptr, tally)));
    auto [done, pending] = co_await weft::wait(handles, weft::FIRST_COMPLETED);
    out.done = done;
    out.pending = pending;
    out.at_ms = test::ms_since(start);
    for (auto i : pending) handles[i].cancel();
    for (auto i : pending) {
        try {
            co_await handles[i];
        } catch (const weft::CancelledError&) {
            ++out.pending_cancelled;
        }
    }
    co_return out;
}

// Task 0 is cancelled at 10 ms, task 1 fails at 50 ms: a cancellation is no exception here.
weft::Task<WaitRun> wait_first_exception_past_a_cancelled_task() {
    const auto start = weft::now();
    WaitRun out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(1h, 0)));
    handles.push_back(weft::spawn([]() -> weft::Task<int> {
        co_await weft::sleep(50ms);
        throw std::runtime_error("real");
    }()));
    handles.push_back(weft::spawn(after(1h, 2)));
    auto canceller = weft::spawn([](weft::JoinHandle<int>* victim) -> weft::Task<void> {
        co_await weft::sleep(10ms);
        victim->cancel();
    }(&handles[0]));
    auto result = co_await weft::wait(handles, weft::FIRST_EXCEPTION);
    out.done = result.done;
    out.pending = result.pending;
    out.at_ms = test::ms_since(start);
    co_await std::move(canceller);
    for (auto& handle : handles) handle.cancel();
    co_await weft::wait(handles);
    try {
        co_await handles[1];
    } catch (const std::runtime_error&) {
    }
    co_return out;
}

weft::Task<WaitRun> wait_first_exception() {
    const auto start = weft::now();
    WaitRun out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(10ms, 0)));
    handles.push_back(weft::spawn(after(1h, 1)));
    handles.push_back(weft::spawn(fail_after(20ms, "x")));
    handles.push_back(weft::spawn(after(15ms, 3)));
    auto result = co_await weft::wait(handles, weft::FIRST_EXCEPTION);
    out.done = result.done;
    out.pending = result.pending;
    out.at_ms = test::ms_since(start);
    for (auto i : result.pending) handles[i].cancel();
    co_await weft::wait(handles);  // ALL_COMPLETED
    out.all_cancelled_flags = handles[1].cancelled() && !handles[0].cancelled() && !handles[2].cancelled();
    try {
        co_await handles[2];
    } catch (const std::runtime_error&) {
    }
    co_return out;
}

weft::Task<WaitRun> wait_all_completed() {
    const auto start = weft::now();
    WaitRun out;
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < 4; ++i) handles.push_back(weft::spawn(after(std::chrono::milliseconds(40 - 10 * i), i)));
    auto result = co_await weft::wait(handles);
    out.done = result.done;
    out.pending = result.pending;
    out.at_ms = test::ms_since(start);
    std::vector<weft::JoinHandle<int>> none;
    auto empty = co_await weft::wait(none, weft::FIRST_COMPLETED);
    out.all_cancelled_flags = empty.done.empty() && empty.pending.empty();
    co_return out;
}

// wait() does not cancel what it watches, even when the waiting task is cancelled.
weft::Task<WaitRun> waiter(std::vector<weft::JoinHandle<int>>* handles) {
    auto result = co_await weft::wait(*handles);
    co_return WaitRun{.done = result.done, .pending = result.pending};
}

weft::Task<std::pair<bool, int>> cancel_a_waiter(Tally* tally) {
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(20ms, 1, nullptr, tally)));
    handles.push_back(weft::spawn(after(30ms, 2, nullptr, tally)));
    auto watcher = weft::spawn(waiter(&handles));
    co_await weft::sleep(10ms);
    watcher.cancel();
    bool threw = false;
    try {
        co_await watcher;
    } catch (const weft::CancelledError&) {
        threw = true;
    }
    int sum = 0;
    for (auto& handle : handles) sum += co_await handle;
    co_return std::pair{threw, sum};
}

struct Completed {
    std::vector<std::size_t> order;
    std::vector<std::int64_t> at_ms;
    int sum = 0;
};

weft::Task<Completed> as_completed_order() {
    const auto start = weft::now();
    Completed out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(30ms, 100)));
    handles.push_back(weft::spawn(after(10ms, 200)));
    handles.push_back(weft::spawn(after(40ms, 300)));
    handles.push_back(weft::spawn(after(20ms, 400)));
    auto completed = weft::as_completed(handles);
    while (auto i = co_await completed.next()) {
        out.order.push_back(*i);
        out.at_ms.push_back(test::ms_since(start));
        out.sum += co_await handles[*i];  // already finished: no wait
    }
    co_return out;
}

// Many tasks finishing on many workers: as_completed reports each index exactly once.
weft::Task<void> yield_then(int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield_now();
}

weft::Task<std::vector<int>> as_completed_many(int count) {
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(yield_then(i % 7)));
    std::vector<int> seen(count, 0);
    auto completed = weft::as_completed(handles);
    while (auto i = co_await completed.next()) ++seen[*i];
    co_return seen;
}

weft::Task<int> value_after_yields(int value) {
    for (int k = 0; k < value % 5; ++k) co_await weft::yield_now();
    co_return value;
}

weft::Task<std::vector<int>> gather_many(int count) {
    std::vector<weft::Task<int>> tasks;
    for (int i = 0; i < count; ++i) tasks.push_back(value_after_yields(i));
    co_return co_await weft::gather(std::move(tasks));
}

}  // namespace

TEST_CASE("gather returns results in argument order while they complete in another", "[gather]") {
    GatherRun out = weft::run(gather_in_argument_order(), test::paused_clock());
    CHECK(std::get<0>(out.values) == 1);
    CHECK(std::get<1>(out.values) == "two");
    CHECK(std::get<3>(out.values) == 4);
    CHECK(out.vector_values == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(out.order == "41" "43210");               // completion order: by deadline
    CHECK(out.at_ms == 30 + 50);  // each gather took as long as its slowest task
}

TEST_CASE("gather fails fast with the first exception, the other tasks keep running", "[gather]") {
    Tally tally;
    FailFast out = weft::run(gather_fails_fast(&tally), test::paused_clock());
    CHECK(out.error == "boom");
    CHECK(out.at_ms == 10);
    CHECK_FALSE(out.other_finished_at_failure);
    CHECK(out.other_finished_later);
    CHECK(tally.cancelled == 0);
}

TEST_CASE("gather(return_exceptions) gives an Outcome per task, in argument order", "[gather]") {
    auto outcomes = weft::run(gather_collecting_exceptions(), test::paused_clock());
    REQUIRE(outcomes.size() == 4);
    CHECK(outcomes[0].has_value());
    CHECK(outcomes[0].value() == 1);
    CHECK_FALSE(outcomes[1].has_value());
    CHECK_THROWS_WITH(outcomes[1].value(), "second");
    CHECK(outcomes[2].value() == 3);
    CHECK_THROWS_WITH(outcomes[3].value(), "fourth");

    auto [first, second] = weft::run(gather_tuple_collecting_exceptions(), test::paused_clock());
    CHECK_FALSE(first);
    CHECK(first.exception() != nullptr);
    CHECK(second.value() == "ok");
}

TEST_CASE("cancelling a gathering task cancels its unfinished children", "[gather]") {
    Tally tally;
    CHECK(weft::run(cancel_a_gatherer(&tally), test::paused_clock()));
    CHECK(tally.cancelled == 2);
    CHECK(tally.cleanups == 2);
}

TEST_CASE("a cancelled gather returns only after its children have finished unwinding (asyncio)", "[gather]") {
    GatherCancelled out = weft::run(cancel_a_gatherer_whose_children_unwind_slowly(), test::paused_clock());
    CHECK(out.threw);
    CHECK(out.log_when_gather_threw == "cleaned;cleaned;");  // both children done, in the frame's lifetime
    CHECK(out.at_ms == 10 + 50);
}

TEST_CASE("gather of nothing is empty", "[gather]") {
    CHECK(weft::run(gather_nothing(), test::paused_clock()).empty());
}

TEST_CASE("when_all waits for every task, then rethrows the first failure in argument order", "[gather]") {
    Tally tally;
    FailFast out = weft::run(when_all_waits_for_everyone(&tally), test::paused_clock());
    CHECK(out.error == "first");
    CHECK(out.at_ms == 100);
    CHECK(out.other_finished_at_failure);
}

TEST_CASE("when_any: the first to finish wins, the others are cancelled before it returns", "[gather]") {
    Tally tally;
    AnyRun out = weft::run(when_any_first_wins(&tally), test::paused_clock());
    CHECK(out.index == 1);
    CHECK(out.value == 11);
    CHECK(out.at_ms == 10);
    CHECK(out.losers_cancelled_at_return == 2);
    CHECK(out.losers_cleaned_at_return == 3);
    CHECK(weft::run(when_any_winner_fails(), test::paused_clock()) == "fast failure");
    CHECK(weft::run(when_any_of_nothing(), test::paused_clock()));
}

TEST_CASE("wait(FIRST_COMPLETED) returns with the rest pending, they can then be cancelled", "[gather][wait]") {
    Tally tally;
    WaitRun out = weft::run(wait_first_completed(&tally), test::paused_clock());
    CHECK(out.done == std::vector<std::size_t>{1});
    CHECK(out.pending == std::vector<std::size_t>{0, 2});
    CHECK(out.at_ms == 10);
    CHECK(out.pending_cancelled == 2);
    CHECK(tally.cancelled == 2);
    CHECK(tally.finished == 1);
}

TEST_CASE("wait(FIRST_EXCEPTION) returns at the first failure", "[gather][wait]") {
    WaitRun out = weft::run(wait_first_exception(), test::paused_clock());
    CHECK(out.done == std::vector<std::size_t>{0, 3, 2});
    CHECK(out.pending == std::vector<std::size_t>{1});
    CHECK(out.at_ms == 20);
    CHECK(out.all_cancelled_flags);
}

TEST_CASE("wait(FIRST_EXCEPTION) goes on past a cancelled task, as asyncio does", "[gather][wait]") {
    WaitRun out = weft::run(wait_first_exception_past_a_cancelled_task(), test::paused_clock());
    CHECK(out.done == std::vector<std::size_t>{0, 1});
    CHECK(out.pending == std::vector<std::size_t>{2});
    CHECK(out.at_ms == 50);
}

TEST_CASE("wait(ALL_COMPLETED) lists every task in completion order", "[gather][wait]") {
    WaitRun out = weft::run(wait_all_completed(), test::paused_clock());
    CHECK(out.done == std::vector<std::size_t>{3, 2, 1, 0});
    CHECK(out.pending.empty());
    CHECK(out.at_ms == 40);
    CHECK(out.all_cancelled_flags);  // wait() on no handles returns at once
}

TEST_CASE("cancelling a task in wait() leaves the watched tasks running", "[gather][wait]") {
    Tally tally;
    auto [threw, sum] = weft::run(cancel_a_waiter(&tally), test::paused_clock());
    CHECK(threw);
    CHECK(sum == 3);
    CHECK(tally.cancelled == 0);
}

TEST_CASE("as_completed yields indices in completion order", "[gather][as_completed]") {
    Completed out = weft::run(as_completed_order(), test::paused_clock());
    CHECK(out.order == std::vector<std::size_t>{1, 3, 0, 2});
    CHECK(out.at_ms == std::vector<std::int64_t>{10, 20, 30, 40});
    CHECK(out.sum == 1000);
}

TEST_CASE("as_completed and gather over many tasks on many workers", "[gather][as_completed]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    const int count = test::scaled(20'000, 2'000);
    auto seen = weft::run(as_completed_many(count), {.workers = workers});
    CHECK(std::count(seen.begin(), seen.end(), 1) == count);
    auto values = weft::run(gather_many(count), {.workers = workers});
    REQUIRE(values.size() == static_cast<std::size_t>(count));
    bool in_order = true;
    for (int i = 0; i < count; ++i) in_order = in_order && values[static_cast<std::size_t>(i)] == i;
    CHECK(in_order);
}
