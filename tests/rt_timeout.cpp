// Deadlines: wait_for (Task and JoinHandle), timeout()/timeout_at() scopes, reschedule,
// nesting, and timeouts firing on busy and on many workers.
//
// Exact instants come from the paused clock (one worker, virtual time); the real-clock tests
// only check "never before the deadline".
#include <catch2/catch.hpp>

#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "support/clock.hpp"
#include "support/counted.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

static_assert(std::is_base_of_v<weft::Error, weft::TimeoutError>);

struct Tally {
    std::atomic<int> cleanups{0};
    std::atomic<int> cancelled{0};  // saw CancelledError
    std::atomic<int> timed_out{0};  // saw TimeoutError
};

weft::Task<int> work(std::chrono::milliseconds delay, int value, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    try {
        co_await weft::sleep(delay);
    } catch (const weft::TimeoutError&) {  // first: it is a CancelledError too
        tally->timed_out.fetch_add(1);
        throw;
    } catch (const weft::CancelledError&) {
        tally->cancelled.fetch_add(1);
        throw;
    }
    co_return value;
}

// ---- wait_for
// ----------------------------------------------------------------------------------------

struct WaitFor {
    int task_value = 0;
    int handle_value = 0;
    std::int64_t done_at_ms = -1;
    bool later_sleep_ok = false;
};

weft::Task<WaitFor> wait_for_in_time(Tally* tally) {
    const auto start = weft::now();
    WaitFor out;
    out.task_value = co_await weft::wait_for(work(5ms, 3, tally), 100ms);
    out.handle_value = co_await weft::wait_for(weft::spawn(work(5ms, 4, tally)), 100ms);
    out.done_at_ms = test::ms_since(start);
    co_await weft::sleep(1h);  // past both deadlines: nothing stale fires
    out.later_sleep_ok = true;
    co_return out;
}

struct TimedOut {
    bool threw = false;
    std::int64_t at_ms = -1;
    int cleanups_then = -1;  // the work's cleanups when the TimeoutError arrived
};

weft::Task<TimedOut> wait_for_task_too_slow(Tally* tally) {
    const auto start = weft::now();
    TimedOut out;
    try {
        co_await weft::wait_for(work(1h, 1, tally), 50ms);
    } catch (const weft::TimeoutError&) {
        out.threw = true;
        out.at_ms = test::ms_since(start);
    }
    co_return out;
}

weft::Task<TimedOut> wait_for_handle_too_slow(Tally* tally, bool started) {
    const auto start = weft::now();
    TimedOut out;
    auto handle = weft::spawn(work(1h, 1, tally));
    if (started) co_await weft::yield_now();  // else the join may run it inline (fork-join fast path)
    try {
        co_await weft::wait_for(std::move(handle), 50ms);
    } catch (const weft::TimeoutError&) {
        out.threw = true;
        out.at_ms = test::ms_since(start);
        // wait_for waited for the cancelled task to finish (asyncio's rule), started or not.
        out.cleanups_then = tally->cleanups.load();
    }
    co_return out;
}

// ---- timeout scopes
// -----------------------------------------------------------------------------------

struct Scope {
    bool threw = false;
    std::int64_t at_ms = -1;
    bool expired = false;
    bool later_sleep_ok = false;
};

weft::Task<Scope> scope_expires_at_the_pending_await() {
    const auto start = weft::now();
    Scope out;
    {
        auto deadline = weft::timeout(50ms);
        try {
            co_await weft::sleep(10ms);  // fine: well within
            co_await weft::sleep(1h);    // the deadline passes here
        } catch (const weft::TimeoutError&) {
            out.threw = true;
            out.at_ms = test::ms_since(start);
        }
        out.expired = deadline.expired();
    }
    co_await weft::sleep(1h);
    out.later_sleep_ok = true;
    co_return out;
}

weft::Task<Scope> scope_not_reached() {
    const auto start = weft::now();
    Scope out;
    {
        auto deadline = weft::timeout_at(start + 100ms);
        co_await weft::sleep(99ms);
        out.expired = deadline.expired();
    }
    co_await weft::sleep(1h);  // the old deadline passes while no scope is active
    out.later_sleep_ok = true;
    out.at_ms = test::ms_since(start);
    co_return out;
}

weft::Task<Scope> scope_already_expired() {
    const auto start = weft::now();
    Scope out;
    auto deadline = weft::timeout_at(start - 1s);
    try {
        co_await weft::sleep(1h);
    } catch (const weft::TimeoutError&) {
        out.threw = true;
        out.at_ms = test::ms_since(start);
    }
    out.expired = deadline.expired();
    co_return out;
}

struct Reschedule {
    std::int64_t later_at_ms = -1;
    std::int64_t earlier_at_ms = -1;
    bool extended_sleep_ok = false;
    bool when_updated = false;
    bool reschedule_after_expiry_refused = false;
};

weft::Task<Reschedule> reschedule_scopes() {
    Reschedule out;
    auto start = weft::now();
    {
        auto deadline = weft::timeout(50ms);
        co_await weft::sleep(20ms);
        deadline.reschedule(weft::now() + 100ms);  // now due at 120 ms
        out.when_updated = deadline.when() == start + 120ms;
        try {
            co_await weft::sleep(1h);
        } catch (const weft::TimeoutError&) {
            out.later_at_ms = test::ms_since(start);
        }
        try {
            deadline.reschedule(weft::now() + 1h);
        } catch (const weft::UsageError&) {
            out.reschedule_after_expiry_refused = true;
        }
    }
    start = weft::now();
    {
        auto deadline = weft::timeout(1h);
        deadline.reschedule(weft::now() + 10ms);
        try {
            co_await weft::sleep(1h);
        } catch (const weft::TimeoutError&) {
            out.earlier_at_ms = test::ms_since(start);
        }
    }
    {
        auto deadline = weft::timeout(10ms);
        deadline.reschedule(weft::now() + 200ms);
        co_await weft::sleep(100ms);  // past the first deadline, within the second
        out.extended_sleep_ok = true;
    }
    co_return out;
}

struct Nested {
    std::int64_t inner_at_ms = -1;
    std::int64_t outer_at_ms = -1;
    bool inner_expired = false;
    bool outer_expired = false;
    bool later_sleep_ok = false;
};

// The inner deadline comes first: it is caught inside the outer scope, which goes on.
weft::Task<Nested> nested_inner_first() {
    const auto start = weft::now();
    Nested out;
    try {
        auto outer = weft::timeout(100ms);
        {
            auto inner = weft::timeout(10ms);
            try {
                co_await weft::sleep(1h);
            } catch (const weft::TimeoutError&) {
                out.inner_at_ms = test::ms_since(start);
            }
            out.inner_expired = inner.expired();
        }
        try {
            co_await weft::sleep(1h);
        } catch (const weft::TimeoutError&) {
            out.outer_at_ms = test::ms_since(start);
            out.outer_expired = outer.expired();
            throw;
        }
    } catch (const weft::TimeoutError&) {
    }
    co_await weft::sleep(1h);
    out.later_sleep_ok = true;
    co_return out;
}

// The outer deadline comes first: its TimeoutError leaves through the inner scope, whose
// own (later) deadline then never fires.
weft::Task<Nested> nested_outer_first() {
    const auto start = weft::now();
    Nested out;
    std::optional<weft::TimeoutScope> inner;
    {
        auto outer = weft::timeout(10ms);
        try {
            inner.emplace(weft::now() + 100ms);
            co_await weft::sleep(1h);
        } catch (const weft::TimeoutError&) {
            out.outer_at_ms = test::ms_since(start);
        }
        out.outer_expired = outer.expired();
        out.inner_expired = inner->expired();
        inner.reset();
    }
    co_await weft::sleep(1h);
    out.later_sleep_ok = true;
    co_return out;
}

// ---- real clock, busy and many workers
// ---------------------------------------------------------------

weft::Task<bool> timeout_ends_a_yield_loop() {
    const auto deadline_at = weft::now() + 3ms;
    auto deadline = weft::timeout_at(deadline_at);
    try {
        for (;;) co_await weft::yield_now();  // never idle: the timer must fire anyway
    } catch (const weft::TimeoutError&) {
        co_return weft::now() >= deadline_at;
    }
}

weft::Task<int> counted_work(test::Counted, Tally* tally) { co_return co_await work(1h, 0, tally); }

weft::Task<bool> one_timed_out_sleeper(int index, test::LifeCounter* frames, Tally* tally) {
    const auto delay = std::chrono::milliseconds(1 + index % 5);
    const auto deadline_at = weft::now() + delay;
    try {
        if (index % 2) {
            co_await weft::wait_for(counted_work(test::Counted(*frames), tally), delay);
        } else {
            co_await weft::wait_for(weft::spawn(counted_work(test::Counted(*frames), tally)), delay);
        }
    } catch (const weft::TimeoutError&) {
        co_return weft::now() >= deadline_at;
    }
    co_return false;
}

weft::Task<int> many_timeouts(int count, test::LifeCounter* frames, Tally* tally) {
    std::vector<weft::JoinHandle<bool>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(one_timed_out_sleeper(i, frames, tally)));
    int on_time = 0;
    for (auto& handle : handles) on_time += (co_await handle) ? 1 : 0;
    // The spawned inner tasks were cancelled and end on their own (some before they started).
    while (frames->live() != 0) co_await weft::yield_now();
    co_return on_time;
}

}  // namespace

TEST_CASE("wait_for returns the value when the task is in time, nothing fires later", "[timeout]") {
    Tally tally;
    WaitFor out = weft::run(wait_for_in_time(&tally), test::paused_clock());
    CHECK(out.task_value == 3);
    CHECK(out.handle_value == 4);
    CHECK(out.done_at_ms == 10);
    CHECK(out.later_sleep_ok);
    CHECK(tally.cleanups == 2);
    CHECK(tally.cancelled + tally.timed_out == 0);
}

TEST_CASE("wait_for(Task) too slow: TimeoutError at the deadline, the inner task unwound", "[timeout]") {
    Tally tally;
    TimedOut out = weft::run(wait_for_task_too_slow(&tally), test::paused_clock());
    CHECK(out.threw);
    CHECK(out.at_ms == 50);
    CHECK(tally.cleanups == 1);
    CHECK(tally.cancelled == 1);  // inside wait_for the work sees a cancellation (asyncio's rule)
}

TEST_CASE("wait_for(JoinHandle) too slow: TimeoutError at the deadline, the task cancelled", "[timeout]") {
    SECTION("a task already running on its own is cancelled") {
        Tally tally;
        TimedOut out = weft::run(wait_for_handle_too_slow(&tally, true), test::paused_clock());
        CHECK(out.threw);
        CHECK(out.at_ms == 50);
        CHECK(out.cleanups_then == 1);
        CHECK(tally.cleanups == 1);
        CHECK(tally.cancelled == 1);
    }
    SECTION("a task not started yet may run inline, inside the deadline's own task") {
        Tally tally;
        TimedOut out = weft::run(wait_for_handle_too_slow(&tally, false), test::paused_clock());
        CHECK(out.threw);
        CHECK(out.at_ms == 50);
        CHECK(out.cleanups_then == 1);
        CHECK(tally.cleanups == 1);
        CHECK(tally.cancelled == 1);  // inline or not, it sees a cancellation
    }
}

TEST_CASE("a timeout scope throws TimeoutError at the await pending at its deadline", "[timeout]") {
    Scope out = weft::run(scope_expires_at_the_pending_await(), test::paused_clock());
    CHECK(out.threw);
    CHECK(out.at_ms == 50);
    CHECK(out.expired);
    CHECK(out.later_sleep_ok);
}

TEST_CASE("a timeout scope left before its deadline leaves nothing behind", "[timeout]") {
    Scope out = weft::run(scope_not_reached(), test::paused_clock());
    CHECK_FALSE(out.expired);
    CHECK(out.later_sleep_ok);
    CHECK(out.at_ms == 99 + 3600 * 1000);
}

TEST_CASE("a timeout scope whose deadline has passed throws at the first await", "[timeout]") {
    Scope out = weft::run(scope_already_expired(), test::paused_clock());
    CHECK(out.threw);
    CHECK(out.at_ms == 0);
    CHECK(out.expired);
}

TEST_CASE("TimeoutScope::reschedule moves the deadline later or earlier", "[timeout]") {
    Reschedule out = weft::run(reschedule_scopes(), test::paused_clock());
    CHECK(out.when_updated);
    CHECK(out.later_at_ms == 120);
    CHECK(out.reschedule_after_expiry_refused);
    CHECK(out.earlier_at_ms == 10);
    CHECK(out.extended_sleep_ok);
}

TEST_CASE("nested timeouts: the inner deadline first", "[timeout]") {
    Nested out = weft::run(nested_inner_first(), test::paused_clock());
    CHECK(out.inner_at_ms == 10);
    CHECK(out.inner_expired);
    CHECK(out.outer_at_ms == 100);
    CHECK(out.outer_expired);
    CHECK(out.later_sleep_ok);
}

TEST_CASE("nested timeouts: the outer deadline first", "[timeout]") {
    Nested out = weft::run(nested_outer_first(), test::paused_clock());
    CHECK(out.outer_at_ms == 10);
    CHECK(out.outer_expired);
    CHECK_FALSE(out.inner_expired);
    CHECK(out.later_sleep_ok);
}

TEST_CASE("a timeout fires while its task keeps yielding (real clock)", "[timeout]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    CHECK(weft::run(timeout_ends_a_yield_loop(), {.workers = workers}));
}

TEST_CASE("many timeouts on many workers: each at or after its deadline, every inner task unwound", "[timeout]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    const int count = test::scaled(10'000, 1'000);
    test::LifeCounter frames;
    Tally tally;
    CHECK(weft::run(many_timeouts(count, &frames, &tally), {.workers = workers}) == count);
    CHECK(frames.live() == 0);
    // Every inner task that started was unwound by its timeout or its cancellation.
    CHECK(tally.cleanups <= count);
    CHECK(tally.cancelled == tally.cleanups);
    CHECK(tally.timed_out == 0);
}

namespace {

weft::Task<int> never_runs(bool* ran) {
    *ran = true;
    co_return 5;
}

weft::Task<int> immediately() { co_return 7; }

template <class F>
weft::Task<bool> times_out(F make) {
    try {
        if constexpr (std::is_void_v<typename decltype(make())::value_type>) {
            co_await make();
        } else {
            [[maybe_unused]] auto result = co_await make();
        }
    } catch (const weft::TimeoutError&) {
        co_return true;
    }
    co_return false;
}

// asyncio.wait_for(aw, 0) or a negative timeout: TimeoutError without running the work (a
// coroutine never starts, a queue keeps its item, a semaphore its permit), unless the
// awaitable is a task or future that has already finished: then its result.
weft::Task<void> zero_and_negative_timeouts() {
    // (Each co_await into a local: g++ 12 evaluates a co_await inside CHECK more than once.)
    weft::Queue<int> queue;
    queue.put_nowait(1);
    weft::Semaphore semaphore(1);
    weft::Lock lock;
    weft::Event event;
    event.set();
    bool ran = false;
    const bool get_timed_out = co_await times_out([&] { return weft::wait_for(queue.get(), 0ms); });
    CHECK(get_timed_out);
    CHECK(queue.qsize() == 1);
    const bool acquire_timed_out = co_await times_out([&] { return weft::wait_for(semaphore.acquire(), -5ms); });
    CHECK(acquire_timed_out);
    CHECK(semaphore.value() == 1);
    const bool lock_timed_out = co_await times_out([&] { return weft::wait_for(lock.lock(), 0s); });
    CHECK(lock_timed_out);
    CHECK_FALSE(lock.locked());
    const bool event_timed_out = co_await times_out([&] { return weft::wait_for(event.wait(), 0ms); });
    CHECK(event_timed_out);
    const bool task_timed_out = co_await times_out([&] { return weft::wait_for(never_runs(&ran), 0ms); });
    CHECK(task_timed_out);
    CHECK_FALSE(ran);
    // Finished already: the result, as asyncio's `if fut.done(): return fut.result()`.
    auto finished = weft::spawn(immediately());
    while (!finished.done()) co_await weft::yield_now();
    const int finished_value = co_await weft::wait_for(std::move(finished), 0ms);
    CHECK(finished_value == 7);
    weft::Future<int> future;
    future.set_result(9);
    const int future_value = co_await weft::wait_for(future, 0ms);
    CHECK(future_value == 9);
    // Not finished: the task is cancelled and awaited, then TimeoutError.
    bool cancelled_ran = false;
    auto pending = weft::spawn(never_runs(&cancelled_ran));
    const bool pending_timed_out = co_await times_out([&] { return weft::wait_for(std::move(pending), 0ms); });
    CHECK(pending_timed_out);
    CHECK_FALSE(cancelled_ran);
    // A positive timeout still runs a ready awaitable.
    const int got = co_await weft::wait_for(queue.get(), 1h);
    CHECK(got == 1);
}

}  // namespace

TEST_CASE("wait_for with a zero or negative timeout raises TimeoutError without running the work", "[timeout]") {
    weft::run(zero_and_negative_timeouts(), {.workers = 1});
}
