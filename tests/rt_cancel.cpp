// Cancellation: JoinHandle::cancel()/cancelled(), CancelledError at sleep, join, yield and
// nested awaits, propagation to an awaited child, shield(), and the edge cases (finished,
// not yet started, cancelled while running, a task that refuses).
//
// Step-by-step tests run on the paused clock (one worker, virtual time), where the order
// of events is fixed; the multi-worker ones synchronise only through the tasks themselves.
#include <catch2/catch.hpp>

#include <weft/shield.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/wait.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "support/clock.hpp"
#include "support/counted.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

static_assert(!std::is_base_of_v<std::exception, weft::CancelledError>,
              "catch (const std::exception&) must not swallow a cancellation");

struct Tally {
    std::atomic<int> cleanups{0};
    std::atomic<int> caught{0};  // CancelledError seen in a catch, then rethrown
    std::atomic<int> started{0};
    std::atomic<int> finished{0};  // ran to the end
};

// Sleeps for `delay`, with RAII and catch-rethrow cleanup.
weft::Task<int> sleeper(std::chrono::milliseconds delay, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    tally->started.fetch_add(1);
    try {
        co_await weft::sleep(delay);
    } catch (const weft::CancelledError&) {
        tally->caught.fetch_add(1);
        throw;
    }
    tally->finished.fetch_add(1);
    co_return 1;
}

// ---- at a sleep ----------------------------------------------------------------------------

struct SleepCancel {
    bool cancel_result = false;
    bool cancelled_flag = false;
    bool threw = false;
    std::int64_t at_ms = -1;
};

weft::Task<SleepCancel> cancel_a_sleeper(Tally* tally) {
    const auto start = weft::now();
    SleepCancel out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(sleeper(1h, tally)));
    co_await weft::sleep(10ms);
    out.cancel_result = handles[0].cancel();
    co_await weft::wait(handles);  // ALL_COMPLETED: it has finished after this
    out.cancelled_flag = handles[0].cancelled();
    out.at_ms = test::ms_since(start);
    try {
        co_await handles[0];
    } catch (const weft::CancelledError&) {
        out.threw = true;
    }
    co_return out;
}

// ---- at a join, a nested await and a yield -----------------------------------------------------

struct JoinCancel {
    bool parent_caught = false;
    bool child_rethrew = false;
    bool parent_cancelled = false;
    std::int64_t at_ms = -1;
};

weft::Task<int> await_child(Tally* child_tally, JoinCancel* out) {
    auto child = weft::spawn(sleeper(1h, child_tally));
    co_await weft::yield_now();  // the child starts on its own (not inline, see below)
    try {
        co_return co_await child;
    } catch (const weft::CancelledError&) {
        out->parent_caught = true;
    }
    // The handle stays valid: wait for the child's own end, then re-raise.
    try {
        co_await child;
    } catch (const weft::CancelledError&) {
        out->child_rethrew = true;
    }
    throw weft::CancelledError();
}

weft::Task<JoinCancel> cancel_a_joiner(Tally* child_tally) {
    const auto start = weft::now();
    JoinCancel out;
    std::vector<weft::JoinHandle<int>> parent;
    parent.push_back(weft::spawn(await_child(child_tally, &out)));
    co_await weft::sleep(10ms);
    parent[0].cancel();
    co_await weft::wait(parent);
    out.parent_cancelled = parent[0].cancelled();
    out.at_ms = test::ms_since(start);
    co_return out;
}

weft::Task<int> nested_sleep(Tally* tally) { co_return co_await sleeper(1h, tally); }

weft::Task<int> two_levels_down(Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    co_return co_await nested_sleep(tally);
}

weft::Task<bool> cancel_through_nested_tasks(Tally* tally) {
    auto handle = weft::spawn(two_levels_down(tally));
    co_await weft::sleep(5ms);
    handle.cancel();
    try {
        co_await handle;
    } catch (const weft::CancelledError&) {
        co_return true;
    }
    co_return false;
}

// A chain of spawned tasks, each awaiting the next: cancelling the head reaches the tail.
// Each link's join passes the cancellation on and waits for its child's end (asyncio's
// `await task`); the second await below is then already done. Awaiting the head returns once
// the whole chain has unwound.
weft::Task<int> chain(int depth, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    if (depth == 0) co_return co_await sleeper(1h, tally);
    auto next = weft::spawn(chain(depth - 1, tally));
    try {
        co_return co_await next;
    } catch (const weft::CancelledError&) {
    }
    if (next.valid()) {  // else it ran inline, as part of this task, and has ended
        try {
            co_await next;
        } catch (const weft::CancelledError&) {
        }
    }
    throw weft::CancelledError();
}

weft::Task<bool> cancel_a_chain(int depth, Tally* tally) {
    auto head = weft::spawn(chain(depth, tally));
    while (tally->started.load() == 0) co_await weft::yield_now();  // the tail is asleep
    head.cancel();
    try {
        co_await head;
    } catch (const weft::CancelledError&) {
        co_return true;
    }
    co_return false;
}

weft::Task<void> spin_yielding(std::atomic<std::int64_t>* spins, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    try {
        for (;;) {
            co_await weft::yield_now();
            spins->fetch_add(1);
        }
    } catch (const weft::CancelledError&) {
        tally->caught.fetch_add(1);
        throw;
    }
}

weft::Task<bool> cancel_a_yielder(Tally* tally) {
    std::atomic<std::int64_t> spins{0};
    auto handle = weft::spawn(spin_yielding(&spins, tally));
    while (spins.load() < 10) co_await weft::yield_now();
    const bool requested = handle.cancel();
    try {
        co_await handle;
    } catch (const weft::CancelledError&) {
        co_return requested;
    }
    co_return false;
}

// ---- finished, not started, cancelled while running, refused ------------------------------------

struct Finished {
    bool cancel_result = true;
    bool cancelled_flag = true;
    int value = 0;
};

weft::Task<int> quick() { co_return 42; }

weft::Task<Finished> cancel_a_finished_task() {
    Finished out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(quick()));
    co_await weft::wait(handles);
    out.cancel_result = handles[0].cancel();
    out.cancelled_flag = handles[0].cancelled();
    out.value = co_await handles[0];
    co_return out;
}

weft::Task<int> never_runs(test::Counted, std::atomic<bool>* ran) {
    ran->store(true);
    co_return 1;
}

struct NotStarted {
    bool first_cancel = false;
    bool second_cancel = false;
    bool cancelled_flag = false;
    bool threw = false;
};

weft::Task<NotStarted> cancel_before_start(test::LifeCounter* frames, std::atomic<bool>* ran) {
    NotStarted out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(never_runs(test::Counted(*frames), ran)));
    // One worker: the child cannot start before this task suspends.
    out.first_cancel = handles[0].cancel();
    out.second_cancel = handles[0].cancel();
    co_await weft::wait(handles);
    out.cancelled_flag = handles[0].cancelled();
    try {
        co_await handles[0];
    } catch (const weft::CancelledError&) {
        out.threw = true;
    }
    co_return out;
}

struct SelfCancel {
    bool cancel_result = false;
    bool kept_running = false;
    bool threw_at_sleep = false;
    std::int64_t at_ms = -1;
};

// Cancels itself while running: nothing happens until its next await, which throws at once.
weft::Task<int> cancel_self(std::vector<weft::JoinHandle<int>>* self, SelfCancel* out) {
    const auto start = weft::now();
    out->cancel_result = (*self)[0].cancel();
    out->kept_running = true;
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        out->threw_at_sleep = true;
        out->at_ms = test::ms_since(start);
        throw;
    }
    co_return 1;
}

weft::Task<std::pair<SelfCancel, bool>> cancelled_while_running() {
    SelfCancel out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(cancel_self(&handles, &out)));
    co_await weft::wait(handles);
    co_return std::pair{out, handles[0].cancelled()};
}

struct PendingJoin {
    bool threw_at_join = false;   // the first co_await of the child threw CancelledError
    bool child_threw = false;     // the second one, at the child's end, threw its CancelledError
    std::int64_t at_ms = -1;
};

// Cancels itself, then awaits a child that has started and is asleep: the join must throw
// the pending cancellation at once and pass it on to the child, never hand back the
// result of a child that is still running (nor free its frame).
weft::Task<int> join_with_cancel_pending(std::vector<weft::JoinHandle<int>>* self, Tally* tally, PendingJoin* out) {
    const auto start = weft::now();
    auto child = weft::spawn(sleeper(1h, tally));
    co_await weft::sleep(1ms);  // the child starts and goes to sleep
    (*self)[0].cancel();
    try {
        co_await child;
    } catch (const weft::CancelledError&) {
        out->threw_at_join = true;
    }
    out->at_ms = test::ms_since(start);
    try {
        co_await child;  // the handle is still valid: wait for the child's end
    } catch (const weft::CancelledError&) {
        out->child_threw = true;
    }
    co_return 1;
}

weft::Task<PendingJoin> join_a_started_child_with_cancel_pending(Tally* tally) {
    PendingJoin out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(join_with_cancel_pending(&handles, tally, &out)));
    co_await weft::wait(handles);
    co_return out;
}

struct Refusal {
    bool std_catch_swallowed = false;
    bool caught = false;
    bool slept_after = false;
    bool cancelled_flag = true;
    int value = 0;
};

// Catches the cancellation and carries on: a refusal (asyncio's uncancel). The request is
// consumed, so its next sleep runs to the end; `catch (std::exception&)` never sees it.
weft::Task<int> refuse_cancellation(Refusal* out) {
    try {
        try {
            co_await weft::sleep(1h);
        } catch (const std::exception&) {
            out->std_catch_swallowed = true;
        }
    } catch (const weft::CancelledError&) {
        out->caught = true;
    }
    co_await weft::sleep(10ms);
    out->slept_after = true;
    co_return 5;
}

weft::Task<Refusal> cancel_a_refuser() {
    Refusal out;
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(refuse_cancellation(&out)));
    co_await weft::sleep(1ms);
    handles[0].cancel();
    co_await weft::wait(handles);
    out.cancelled_flag = handles[0].cancelled();
    out.value = co_await handles[0];
    co_return out;
}

// ---- shield
// ---------------------------------------------------------------------------------------

weft::Task<int> slow_write(std::chrono::milliseconds delay, weft::Clock::time_point start, std::int64_t* written_at) {
    co_await weft::sleep(delay);
    *written_at = test::ms_since(start);
    co_return 9;
}

struct ShieldRun {
    bool timed_out = false;
    std::int64_t timeout_at_ms = -1;
    std::int64_t written_at_timeout = -1;
    std::int64_t written_at = -1;
};

weft::Task<ShieldRun> shield_survives_a_timeout() {
    const auto start = weft::now();
    ShieldRun out;
    try {
        auto deadline = weft::timeout(10ms);
        co_await weft::shield(slow_write(100ms, start, &out.written_at));
    } catch (const weft::TimeoutError&) {
        out.timed_out = true;
        out.timeout_at_ms = test::ms_since(start);
        out.written_at_timeout = out.written_at;
    }
    co_await weft::sleep(1h);  // the shielded write finishes meanwhile, at 100 ms
    co_return out;
}

weft::Task<int> await_shielded(weft::Clock::time_point start, std::int64_t* written_at, bool* caught) {
    try {
        co_return co_await weft::shield(slow_write(100ms, start, written_at));
    } catch (const weft::CancelledError&) {
        *caught = true;
        throw;
    }
}

weft::Task<std::pair<ShieldRun, bool>> shield_survives_cancellation() {
    const auto start = weft::now();
    ShieldRun out;
    bool caught = false;
    auto outer = weft::spawn(await_shielded(start, &out.written_at, &caught));
    co_await weft::sleep(10ms);
    outer.cancel();
    try {
        co_await outer;
    } catch (const weft::CancelledError&) {
        out.timed_out = true;
        out.timeout_at_ms = test::ms_since(start);
        out.written_at_timeout = out.written_at;
    }
    co_await weft::sleep(1h);
    co_return std::pair{out, caught};
}

weft::Task<int> fails() {
    co_await weft::sleep(1ms);
    throw std::runtime_error("inner failure");
}

weft::Task<std::pair<int, std::string>> shield_passes_results_through() {
    const auto start = weft::now();
    std::int64_t written = -1;
    int value = co_await weft::shield(slow_write(5ms, start, &written));
    value += co_await weft::shield(weft::spawn(quick()));
    std::string error;
    try {
        co_await weft::shield(fails());
    } catch (const std::runtime_error& e) {
        error = e.what();
    }
    co_return std::pair{value, error};
}

// ---- a child its joiner runs inline -----------------------------------------------------------

weft::Task<int> nested_spawn_and_await(Tally* tally) { co_return co_await weft::spawn(sleeper(1h, tally)); }

weft::Task<bool> cancel_later(std::vector<weft::JoinHandle<int>>* target, std::chrono::milliseconds delay) {
    co_await weft::sleep(delay);
    co_return (*target)[0].cancel();
}

struct InlineCancel {
    bool requested = false;
    bool threw = false;
    std::int64_t at_ms = -1;
};

// Awaiting a child that has not started yet may run it inline, as part of the awaiting task
// (the fork-join fast path). Cancelling the awaiting task ends the child's await too.
weft::Task<InlineCancel> cancel_the_joiner_of_an_inline_child(Tally* tally) {
    const auto start = weft::now();
    InlineCancel out;
    std::vector<weft::JoinHandle<int>> parent;
    parent.push_back(weft::spawn(nested_spawn_and_await(tally)));
    co_await weft::sleep(10ms);
    out.requested = parent[0].cancel();
    try {
        co_await parent[0];
    } catch (const weft::CancelledError&) {
        out.threw = true;
    }
    out.at_ms = test::ms_since(start);
    co_return out;
}

// Cancelling the child through its own handle must reach it as well.
weft::Task<InlineCancel> cancel_a_child_its_joiner_runs(Tally* tally) {
    const auto start = weft::now();
    InlineCancel out;
    std::vector<weft::JoinHandle<int>> child;
    child.reserve(1);
    auto canceller = weft::spawn(cancel_later(&child, 10ms));
    child.push_back(weft::spawn(sleeper(1h, tally)));  // the newest task on this worker's queue
    try {
        co_await child[0];
    } catch (const weft::CancelledError&) {
        out.threw = true;
    }
    out.at_ms = test::ms_since(start);
    out.requested = co_await canceller;
    co_return out;
}

// ---- many workers
// ---------------------------------------------------------------------------------

weft::Task<int> cancel_many_sleepers(int count, Tally* tally) {
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(sleeper(1h, tally)));
    while (tally->started.load() < count) co_await weft::yield_now();
    for (auto& handle : handles) handle.cancel();
    int cancelled = 0;
    for (auto& handle : handles) {
        try {
            co_await handle;
        } catch (const weft::CancelledError&) {
            ++cancelled;
        }
    }
    co_return cancelled;
}

}  // namespace

TEST_CASE("cancel() ends a sleep with CancelledError, RAII and catch-rethrow cleanup run once", "[cancel]") {
    Tally tally;
    SleepCancel out = weft::run(cancel_a_sleeper(&tally), test::paused_clock());
    CHECK(out.cancel_result);
    CHECK(out.cancelled_flag);
    CHECK(out.threw);
    CHECK(out.at_ms == 10);  // not an hour: the sleep ended at the cancellation
    CHECK(tally.cleanups == 1);
    CHECK(tally.caught == 1);
    CHECK(tally.finished == 0);
}

TEST_CASE("cancelling a task that awaits a JoinHandle cancels the child too", "[cancel]") {
    Tally child;
    JoinCancel out = weft::run(cancel_a_joiner(&child), test::paused_clock());
    CHECK(out.parent_caught);
    CHECK(out.child_rethrew);
    CHECK(out.parent_cancelled);
    CHECK(out.at_ms == 10);
    CHECK(child.caught == 1);
    CHECK(child.cleanups == 1);
    CHECK(child.finished == 0);
}

TEST_CASE("cancellation reaches the innermost await of nested tasks", "[cancel]") {
    Tally tally;
    CHECK(weft::run(cancel_through_nested_tasks(&tally), test::paused_clock()));
    CHECK(tally.caught == 1);
    CHECK(tally.cleanups == 2);  // the sleeper's and two_levels_down's
}

TEST_CASE("cancelling the head of a chain of joins cancels every link", "[cancel]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    Tally tally;
    const int depth = 20;
    CHECK(weft::run(cancel_a_chain(depth, &tally), {.workers = workers}));
    CHECK(tally.caught == 1);
    CHECK(tally.cleanups == depth + 2);  // every link, plus the sleeper at the end
}

TEST_CASE("cancel() ends a loop of yields", "[cancel]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    Tally tally;
    CHECK(weft::run(cancel_a_yielder(&tally), {.workers = workers}));
    CHECK(tally.caught == 1);
    CHECK(tally.cleanups == 1);
}

TEST_CASE("cancelling a finished task returns false and changes nothing", "[cancel]") {
    Finished out = weft::run(cancel_a_finished_task(), test::paused_clock());
    CHECK_FALSE(out.cancel_result);
    CHECK_FALSE(out.cancelled_flag);
    CHECK(out.value == 42);
}

TEST_CASE("a task cancelled before it starts never runs its body, and its frame is freed", "[cancel]") {
    test::LifeCounter frames;
    std::atomic<bool> ran{false};
    NotStarted out = weft::run(cancel_before_start(&frames, &ran), test::paused_clock());
    CHECK(out.first_cancel);
    CHECK(out.second_cancel);  // still pending: not complete yet
    CHECK(out.cancelled_flag);
    CHECK(out.threw);
    CHECK_FALSE(ran.load());
    CHECK(frames.live() == 0);
}

TEST_CASE("a cancellation requested while the task runs is thrown at its next await", "[cancel]") {
    auto [out, cancelled] = weft::run(cancelled_while_running(), test::paused_clock());
    CHECK(out.cancel_result);
    CHECK(out.kept_running);
    CHECK(out.threw_at_sleep);
    CHECK(out.at_ms == 0);
    CHECK(cancelled);
}

TEST_CASE("a join with its own cancellation pending throws it and cancels the started child", "[cancel]") {
    Tally tally;
    PendingJoin out = weft::run(join_a_started_child_with_cancel_pending(&tally), test::paused_clock());
    CHECK(out.threw_at_join);
    CHECK(out.at_ms == 1);  // at once, not after the child's hour
    CHECK(out.child_threw);
    CHECK(tally.started == 1);
    CHECK(tally.caught == 1);
    CHECK(tally.cleanups == 1);
    CHECK(tally.finished == 0);
}

TEST_CASE("a task that catches CancelledError and carries on is not cancelled", "[cancel]") {
    Refusal out = weft::run(cancel_a_refuser(), test::paused_clock());
    CHECK_FALSE(out.std_catch_swallowed);
    CHECK(out.caught);
    CHECK(out.slept_after);
    CHECK_FALSE(out.cancelled_flag);
    CHECK(out.value == 5);
}

TEST_CASE("shield: the inner task survives the awaiter's timeout and its write happens", "[cancel][shield]") {
    ShieldRun out = weft::run(shield_survives_a_timeout(), test::paused_clock());
    CHECK(out.timed_out);
    CHECK(out.timeout_at_ms == 10);
    CHECK(out.written_at_timeout == -1);  // not yet written when the awaiter gave up
    CHECK(out.written_at == 100);         // but written later, on time
}

TEST_CASE("shield: the inner task survives the awaiter's cancellation", "[cancel][shield]") {
    auto [out, caught] = weft::run(shield_survives_cancellation(), test::paused_clock());
    CHECK(caught);
    CHECK(out.timed_out);
    CHECK(out.timeout_at_ms == 10);
    CHECK(out.written_at_timeout == -1);
    CHECK(out.written_at == 100);
}

TEST_CASE("shield: without cancellation the result or the exception comes through", "[cancel][shield]") {
    auto [value, error] = weft::run(shield_passes_results_through(), test::paused_clock());
    CHECK(value == 9 + 42);
    CHECK(error == "inner failure");
}

TEST_CASE("cancel() on an empty JoinHandle is a UsageError", "[cancel]") {
    weft::JoinHandle<int> empty;
    CHECK_THROWS_AS(empty.cancel(), weft::UsageError);
    CHECK_THROWS_AS(empty.cancelled(), weft::UsageError);
}

TEST_CASE("cancelling the joiner of a child it runs inline cancels the child", "[cancel]") {
    Tally tally;
    InlineCancel out = weft::run(cancel_the_joiner_of_an_inline_child(&tally), test::paused_clock());
    CHECK(out.requested);
    CHECK(out.threw);
    CHECK(out.at_ms == 10);
    CHECK(tally.caught == 1);
    CHECK(tally.cleanups == 1);
}

TEST_CASE("cancel() reaches a child that its joiner runs inline", "[cancel]") {
    Tally tally;
    InlineCancel out = weft::run(cancel_a_child_its_joiner_runs(&tally), test::paused_clock());
    CHECK(out.requested);
    CHECK(out.threw);
    CHECK(out.at_ms == 10);
    CHECK(tally.caught == 1);
}

TEST_CASE("many sleepers cancelled from another worker all end with CancelledError", "[cancel]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    const int count = test::scaled(20'000, 2'000);
    Tally tally;
    // Real clock, hour-long sleeps: only the cancellations can end them.
    CHECK(weft::run(cancel_many_sleepers(count, &tally), {.workers = workers}) == count);
    CHECK(tally.caught == count);
    CHECK(tally.cleanups == count);
    CHECK(tally.finished == 0);
}
