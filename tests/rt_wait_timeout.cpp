// Timeouts on the waiting helpers: wait(handles, when, timeout) returns at the deadline with
// done/pending and cancels nothing (asyncio.wait); as_completed(handles, timeout) reports what
// finished and raises TimeoutError once the deadline has passed (asyncio.as_completed).
// On the paused clock: instants are exact.
#include <catch2/catch.hpp>

#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/wait.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdint>
#include <vector>

#include "support/clock.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<int> after(std::chrono::milliseconds delay, int value) {
    co_await weft::sleep(delay);
    co_return value;
}

struct Waited {
    std::vector<std::size_t> done, pending;
    std::int64_t at_ms = -1;
    int later_sum = 0;
    bool none_cancelled = false;
};

weft::Task<Waited> wait_with_timeout(weft::ReturnWhen when, std::chrono::milliseconds timeout) {
    const auto start = weft::now();
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(30ms, 1)));
    handles.push_back(weft::spawn(after(10ms, 2)));
    handles.push_back(weft::spawn(after(50ms, 4)));
    Waited out;
    auto result = co_await weft::wait(handles, when, timeout);
    out.done = result.done;
    out.pending = result.pending;
    out.at_ms = test::ms_since(start);
    // Nothing was cancelled: every task still ends with its value.
    for (auto& h : handles) out.later_sum += co_await h;
    out.none_cancelled = true;
    for (auto& h : handles) out.none_cancelled = out.none_cancelled && !h.cancelled();
    co_return out;
}

// The waiting task's own outer deadline is not wait()'s: it propagates as TimeoutError.
weft::Task<bool> outer_deadline_propagates() {
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(100ms, 1)));
    bool raised = false;
    try {
        auto deadline = weft::timeout(20ms);
        (void)co_await weft::wait(handles, weft::ALL_COMPLETED, 50ms);
    } catch (const weft::TimeoutError&) {
        raised = true;
    }
    (void)co_await handles[0];
    co_return raised;
}

struct Completed {
    std::vector<std::size_t> order;
    std::vector<std::int64_t> at_ms;
    std::int64_t timeout_at_ms = -1;
    int timeouts = 0;
    int sum_after = 0;
};

weft::Task<Completed> as_completed_with_timeout(std::chrono::milliseconds timeout) {
    const auto start = weft::now();
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(30ms, 1)));
    handles.push_back(weft::spawn(after(10ms, 2)));
    handles.push_back(weft::spawn(after(50ms, 4)));
    Completed out;
    auto completed = weft::as_completed(handles, timeout);
    try {
        while (auto i = co_await completed.next()) {
            out.order.push_back(*i);
            out.at_ms.push_back(test::ms_since(start));
        }
    } catch (const weft::TimeoutError&) {
        ++out.timeouts;
        out.timeout_at_ms = test::ms_since(start);
    }
    // Past the deadline, a next() that would wait raises again; the tasks were not cancelled.
    try {
        (void)co_await completed.next();
    } catch (const weft::TimeoutError&) {
        ++out.timeouts;
    }
    for (auto& h : handles) out.sum_after += co_await h;
    co_return out;
}

// Finished before the deadline but not yet reported: returned, even after the deadline.
weft::Task<std::vector<std::size_t>> finished_ones_still_reported() {
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(after(10ms, 1)));
    handles.push_back(weft::spawn(after(15ms, 2)));
    auto completed = weft::as_completed(handles, 20ms);
    co_await weft::sleep(40ms);  // both finished; the deadline passed
    std::vector<std::size_t> order;
    while (auto i = co_await completed.next()) order.push_back(*i);
    co_return order;
}

}  // namespace

TEST_CASE("wait with a timeout returns at the deadline with done and pending, nothing is cancelled",
          "[wait][timeout]") {
    Waited out = weft::run(wait_with_timeout(weft::ALL_COMPLETED, 40ms), test::paused_clock());
    CHECK(out.done == std::vector<std::size_t>{1, 0});
    CHECK(out.pending == std::vector<std::size_t>{2});
    CHECK(out.at_ms == 40);
    CHECK(out.later_sum == 7);
    CHECK(out.none_cancelled);
}

TEST_CASE("wait with a timeout returns earlier when its condition holds first", "[wait][timeout]") {
    Waited first = weft::run(wait_with_timeout(weft::FIRST_COMPLETED, 40ms), test::paused_clock());
    CHECK(first.done == std::vector<std::size_t>{1});
    CHECK(first.pending == std::vector<std::size_t>{0, 2});
    CHECK(first.at_ms == 10);
    Waited all = weft::run(wait_with_timeout(weft::ALL_COMPLETED, 1h), test::paused_clock());
    CHECK(all.done == std::vector<std::size_t>{1, 0, 2});
    CHECK(all.pending.empty());
    CHECK(all.at_ms == 50);
    Waited none = weft::run(wait_with_timeout(weft::ALL_COMPLETED, 0ms), test::paused_clock());
    CHECK(none.done.empty());
    CHECK(none.pending == std::vector<std::size_t>{0, 1, 2});
    CHECK(none.at_ms == 0);
    CHECK(none.later_sum == 7);
}

TEST_CASE("an enclosing timeout scope still raises through wait with a timeout", "[wait][timeout]") {
    REQUIRE(weft::run(outer_deadline_propagates(), test::paused_clock()));
}

TEST_CASE("as_completed with a timeout: what finished in time, then TimeoutError, the tasks run on",
          "[as_completed][timeout]") {
    Completed out = weft::run(as_completed_with_timeout(40ms), test::paused_clock());
    CHECK(out.order == std::vector<std::size_t>{1, 0});
    CHECK(out.at_ms == std::vector<std::int64_t>{10, 30});
    CHECK(out.timeout_at_ms == 40);
    CHECK(out.timeouts == 2);
    CHECK(out.sum_after == 7);

    Completed in_time = weft::run(as_completed_with_timeout(1h), test::paused_clock());
    CHECK(in_time.order == std::vector<std::size_t>{1, 0, 2});
    CHECK(in_time.timeouts == 0);
}

TEST_CASE("as_completed after its deadline still reports the tasks that had finished", "[as_completed][timeout]") {
    REQUIRE(weft::run(finished_ones_still_reported(), test::paused_clock()) == std::vector<std::size_t>{0, 1});
}
