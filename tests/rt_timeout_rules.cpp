// The rules of timeouts as cancellations (timeout.hpp; issue 16 items 4, 5, 6):
//  - every expired scope raises: nested scopes whose deadlines both passed, in every order,
//    while the task was suspended or busy;
//  - a scope whose deadline has already passed raises at the very next await;
//  - code inside a deadline sees a cancellation (cleanup catching CancelledError runs),
//    the owner of the expired scope sees TimeoutError, a cancel() from outside stays a
//    CancelledError.
// Exact instants come from the paused clock (one worker, virtual time); "busy" cases block
// the worker thread on the real clock, which only makes deadlines pass, never decides.
#include <catch2/catch.hpp>

#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "support/clock.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

static_assert(std::is_base_of_v<weft::CancelledError, weft::TimeoutError>);
static_assert(std::is_base_of_v<weft::Error, weft::TimeoutError>);

// ---- item 4: nested scopes that both expired --------------------------------------------

enum class Passes { while_busy, while_suspended };

struct Nested {
    const void* inner_scope = nullptr;
    const void* outer_scope = nullptr;
    const void* first_raised = nullptr;   // the TimeoutError caught inside the outer scope
    const void* second_raised = nullptr;  // the one the outer scope's owner caught
    int awaits_after_first = 0;           // awaits that returned normally in between
    bool outer_lost = false;              // the 10 s sleep ran to its end
};

// Both deadlines (inner at `inner_ms`, outer at `outer_ms`) pass before the task looks:
// either it blocks its thread past both (busy), or it sleeps while another task blocks the
// worker past both (suspended: both fire in one go when the worker comes back).
weft::Task<void> block_worker(std::chrono::milliseconds how_long) {
    std::this_thread::sleep_for(how_long);
    co_return;
}

weft::Task<Nested> nested_both_expired(int inner_ms, int outer_ms, Passes passes) {
    Nested out;
    try {
        auto outer = weft::timeout(std::chrono::milliseconds(outer_ms));
        out.outer_scope = &outer;
        try {
            auto inner = weft::timeout(std::chrono::milliseconds(inner_ms));
            out.inner_scope = &inner;
            if (passes == Passes::while_busy) {
                // Blocks past both deadlines, then suspends: the worker's wheel fires both.
                // (asyncio too runs a task yielding with sleep(0) before the due timers.)
                std::this_thread::sleep_for(std::chrono::milliseconds(std::max(inner_ms, outer_ms) + 2));
                co_await weft::sleep(1h);
            } else {
                auto blocker = weft::spawn(block_worker(std::chrono::milliseconds(std::max(inner_ms, outer_ms) + 2)));
                co_await weft::sleep(1h);
            }
        } catch (const weft::TimeoutError& e) {
            out.first_raised = e.scope();
        }
        co_await weft::sleep(1s);  // the outer deadline must raise here
        out.awaits_after_first = 1;
        co_await weft::sleep(1s);
        out.outer_lost = true;
    } catch (const weft::TimeoutError& e) {
        out.second_raised = e.scope();
    }
    co_return out;
}

// REQUIRE: a lost deadline costs a real-clock second per iteration; stop at the first.
void check_both_raised(const Nested& out) {
    REQUIRE(out.first_raised == out.inner_scope);   // the innermost expired scope first
    REQUIRE(out.second_raised == out.outer_scope);  // then the outer one, at the next await
    REQUIRE(out.awaits_after_first == 0);
    REQUIRE_FALSE(out.outer_lost);
}

// The same order on the paused clock: both deadlines in one tick, the task asleep.
weft::Task<Nested> nested_same_tick() {
    Nested out;
    const auto start = weft::now();
    try {
        auto outer = weft::timeout(20ms);
        out.outer_scope = &outer;
        try {
            auto inner = weft::timeout(20ms);
            out.inner_scope = &inner;
            co_await weft::sleep(1h);
        } catch (const weft::TimeoutError& e) {
            out.first_raised = e.scope();
        }
        co_await weft::sleep(10s);
        out.awaits_after_first = 1;
        co_await weft::sleep(10s);
        out.outer_lost = true;
    } catch (const weft::TimeoutError& e) {
        out.second_raised = e.scope();
        if (test::ms_since(start) != 20) out.outer_lost = true;  // not at the deadline: lost and found late
    }
    co_return out;
}

// An outer scope expires while an inner one is still running: the inner catch sees it is not
// its own and lets it through (the documented way with timeout() scopes).
weft::Task<int> retry_loop_with_scopes(int* attempts) {
    const auto start = weft::now();
    try {
        auto overall = weft::timeout(10ms);
        for (*attempts = 0; *attempts < 6; ++*attempts) {
            auto attempt = weft::timeout(3ms);
            try {
                co_await weft::sleep(1h);
            } catch (const weft::TimeoutError& e) {
                if (e.scope() != &attempt) throw;  // the overall deadline: not ours to retry
            }
        }
    } catch (const weft::TimeoutError&) {
        co_return static_cast<int>(test::ms_since(start));
    }
    co_return -1;
}

weft::Task<void> slow_attempt() { co_await weft::sleep(1h); }

weft::Task<void> retry_attempts(int* attempts) {
    for (*attempts = 0; *attempts < 6; ++*attempts) {
        try {
            co_await weft::wait_for(slow_attempt(), 3ms);
        } catch (const weft::TimeoutError&) {
            // this attempt's deadline: the overall one arrives as a CancelledError instead
        }
    }
}

// asyncio's own shape: wait_for inside wait_for. The overall deadline passes the attempt's
// catch (it is a CancelledError inside) and becomes TimeoutError at its own wait_for.
weft::Task<int> retry_loop_with_wait_for(int* attempts) {
    const auto start = weft::now();
    try {
        co_await weft::wait_for(retry_attempts(attempts), 10ms);
    } catch (const weft::TimeoutError&) {
        co_return static_cast<int>(test::ms_since(start));
    }
    co_return -1;
}

// ---- item 5: a deadline already passed ---------------------------------------------------

enum class NextAwait { sleep_zero, yield, sleep_long, join };

weft::Task<int> child_value() {
    co_await weft::sleep(1h);  // (a child that ends without awaiting may run inline: no await)
    co_return 7;
}

weft::Task<void> next_await(NextAwait kind) {
    switch (kind) {
        case NextAwait::sleep_zero:
            co_await weft::sleep(0ms);
            break;
        case NextAwait::yield:
            co_await weft::yield_now();
            break;
        case NextAwait::sleep_long:
            co_await weft::sleep(1h);
            break;
        case NextAwait::join:
            break;  // (awaited in place: see already_expired)
    }
}

enum class Past { zero, negative, at_past, rescheduled };

struct Raised {
    bool raised = false;
    bool own_scope = false;
    int awaits_passed = 0;
    std::int64_t at_ms = -1;
};

weft::Task<Raised> already_expired(Past past, NextAwait kind) {
    Raised out;
    const auto start = weft::now();
    co_await weft::sleep(5ms);  // so that "the past" is after the runtime's start
    std::optional<weft::TimeoutScope> scope;
    try {
        switch (past) {
            case Past::zero:
                scope.emplace(weft::now() + 0ms);
                break;
            case Past::negative:
                scope.emplace(weft::now() - 1s);
                break;
            case Past::at_past:
                scope.emplace(start);
                break;
            case Past::rescheduled:
                scope.emplace(weft::now() + 1h);
                scope->reschedule(weft::now() - 1ms);
                break;
        }
        if (kind == NextAwait::join) {
            auto handle = weft::spawn(child_value());
            co_await handle;  // the very next await
        } else {
            co_await next_await(kind);
        }
        ++out.awaits_passed;
        co_await weft::sleep(1h);
        ++out.awaits_passed;
    } catch (const weft::TimeoutError& e) {
        out.raised = true;
        out.own_scope = e.scope() == &*scope;
        out.at_ms = test::ms_since(start);
    }
    co_return out;
}

// ---- item 6: one rule for what the code inside sees -------------------------------------

struct Seen {
    std::atomic<int> cleanups{0};       // catch (const weft::CancelledError&) ran
    std::atomic<int> as_timeout{0};     // ...and the exception was a TimeoutError
    std::atomic<int> finished{0};
    std::atomic<int> ended{0};          // the work's frame is gone, however it ended
};

struct Ended {
    std::atomic<int>* count;
    ~Ended() { count->fetch_add(1); }
};

weft::Task<int> guarded_work(std::chrono::milliseconds delay, Seen* seen) {
    Ended ended{&seen->ended};
    try {
        co_await weft::sleep(delay);
    } catch (const weft::CancelledError&) {
        seen->cleanups.fetch_add(1);
        try {
            throw;
        } catch (const weft::TimeoutError&) {
            seen->as_timeout.fetch_add(1);
            throw;
        }
    }
    seen->finished.fetch_add(1);
    co_return 1;
}

enum class Form { wait_for_task, wait_for_handle_unstarted, wait_for_handle_started, scope };

struct Outcome {
    bool caller_timeout = false;
    bool caller_cancelled = false;
    std::int64_t at_ms = -1;
};

weft::Task<Outcome> deadline_over_work(Form form, Seen* seen) {
    Outcome out;
    const auto start = weft::now();
    try {
        switch (form) {
            case Form::wait_for_task:
                co_await weft::wait_for(guarded_work(1h, seen), 50ms);
                break;
            case Form::wait_for_handle_unstarted:
                co_await weft::wait_for(weft::spawn(guarded_work(1h, seen)), 50ms);  // may run inline
                break;
            case Form::wait_for_handle_started: {
                auto handle = weft::spawn(guarded_work(1h, seen));
                co_await weft::yield_now();  // it starts and sleeps on its own
                co_await weft::wait_for(std::move(handle), 50ms);
                break;
            }
            case Form::scope: {
                auto deadline = weft::timeout(50ms);
                co_await guarded_work(1h, seen);
                break;
            }
        }
    } catch (const weft::TimeoutError&) {
        out.caller_timeout = true;
        out.at_ms = test::ms_since(start);
    } catch (const weft::CancelledError&) {
        out.caller_cancelled = true;
    }
    // A cancelled child finishes on its own (no sleeping to wait for it).
    while (seen->ended.load() == 0) co_await weft::yield_now();
    co_return out;
}

// A cancel() from outside while the task's scope has expired too: CancelledError, not
// TimeoutError; the expired scope raises at the next await if the task refuses the cancel.
struct External {
    bool first_was_plain_cancel = false;
    bool then_timeout = false;
    bool wait_for_stays_cancelled = false;
};

std::atomic<int> g_stage{0};

weft::Task<External> cancelled_inside_expired_scope() {
    External out;
    auto deadline = weft::timeout_at(weft::now() - 1ms);  // expired, not raised yet
    g_stage = 1;
    while (g_stage.load() != 2) std::this_thread::yield();  // the canceller runs meanwhile
    try {
        co_await weft::sleep(1h);
    } catch (const weft::TimeoutError&) {
    } catch (const weft::CancelledError&) {
        out.first_was_plain_cancel = true;
    }
    try {
        co_await weft::sleep(1h);
    } catch (const weft::TimeoutError& e) {
        out.then_timeout = e.scope() == &deadline;
    }
    co_return out;
}

weft::Task<void> spins_until_cancelled_then_sleeps() {
    g_stage = 3;
    while (g_stage.load() != 4) std::this_thread::yield();
    co_await weft::sleep(1h);
}

weft::Task<bool> wait_for_with_both() {
    try {
        co_await weft::wait_for(spins_until_cancelled_then_sleeps(), 1ms);
    } catch (const weft::TimeoutError&) {
        co_return false;
    } catch (const weft::CancelledError&) {
        co_return true;
    }
    co_return false;
}

}  // namespace

TEST_CASE("nested timeouts expired while the task was busy: each raises, inner first", "[timeout][item4]") {
    const int iterations = test::scaled(40, 10);
    for (int i = 0; i < iterations; ++i) {
        for (auto [inner_ms, outer_ms] : {std::pair{1, 3}, std::pair{3, 1}, std::pair{2, 2}}) {
            CAPTURE(i, inner_ms, outer_ms);
            const unsigned workers = 1u + static_cast<unsigned>(i % 2);
            check_both_raised(
                weft::run(nested_both_expired(inner_ms, outer_ms, Passes::while_busy), {.workers = workers}));
        }
    }
}

TEST_CASE("nested timeouts expired while the task was suspended: each raises, inner first", "[timeout][item4]") {
    const int iterations = test::scaled(40, 10);
    for (int i = 0; i < iterations; ++i) {
        for (auto [inner_ms, outer_ms] : {std::pair{1, 3}, std::pair{3, 1}, std::pair{2, 2}}) {
            CAPTURE(i, inner_ms, outer_ms);
            check_both_raised(
                weft::run(nested_both_expired(inner_ms, outer_ms, Passes::while_suspended), {.workers = 1}));
        }
    }
}

TEST_CASE("nested timeouts with the same deadline (paused clock): the outer one is not lost", "[timeout][item4]") {
    check_both_raised(weft::run(nested_same_tick(), test::paused_clock()));
}

TEST_CASE("a retry loop inside an overall deadline ends at the overall deadline", "[timeout][item4]") {
    SECTION("timeout() scopes: the attempt's catch rethrows what is not its own") {
        int attempts = 0;
        CHECK(weft::run(retry_loop_with_scopes(&attempts), test::paused_clock()) == 10);
        CHECK(attempts == 3);
    }
    SECTION("wait_for inside wait_for: the overall deadline is a CancelledError inside") {
        int attempts = 0;
        CHECK(weft::run(retry_loop_with_wait_for(&attempts), test::paused_clock()) == 10);
        CHECK(attempts == 3);
    }
}

TEST_CASE("a scope whose deadline has passed raises at the very next await", "[timeout][item5]") {
    const Past past = GENERATE(Past::zero, Past::negative, Past::at_past, Past::rescheduled);
    const NextAwait kind = GENERATE(NextAwait::sleep_zero, NextAwait::yield, NextAwait::sleep_long, NextAwait::join);
    CAPTURE(static_cast<int>(past), static_cast<int>(kind));
    Raised out = weft::run(already_expired(past, kind), test::paused_clock());
    CHECK(out.raised);
    CHECK(out.own_scope);
    CHECK(out.awaits_passed == 0);
    CHECK(out.at_ms == 5);
}

TEST_CASE("code inside a deadline sees a cancellation, the caller sees TimeoutError", "[timeout][item6]") {
    const Form form =
        GENERATE(Form::wait_for_task, Form::wait_for_handle_unstarted, Form::wait_for_handle_started, Form::scope);
    CAPTURE(static_cast<int>(form));
    Seen seen;
    Outcome out = weft::run(deadline_over_work(form, &seen), test::paused_clock());
    CHECK(out.caller_timeout);
    CHECK_FALSE(out.caller_cancelled);
    CHECK(out.at_ms == 50);
    CHECK(seen.cleanups == 1);  // catch (const weft::CancelledError&) ran, started or not
    CHECK(seen.finished == 0);
    // wait_for's work sees a plain CancelledError (asyncio's rule); inside a timeout() scope
    // the code sees the scope's TimeoutError, which is a CancelledError too.
    CHECK(seen.as_timeout == (form == Form::scope ? 1 : 0));
}

template <class T>
weft::Task<T> publish_and_await(weft::Task<T> task, std::atomic<weft::JoinHandle<T>*>* published) {
    auto handle = weft::spawn(std::move(task));
    published->store(&handle);
    T value = co_await handle;
    published->store(nullptr);
    co_return value;
}

TEST_CASE("a cancel() from outside stays a CancelledError inside an expired scope", "[timeout][item6]") {
    SECTION("timeout() scope") {
        g_stage = 0;
        std::atomic<weft::JoinHandle<External>*> handle{nullptr};
        std::thread canceller([&] {
            while (g_stage.load() != 1 || !handle.load()) std::this_thread::yield();
            CHECK(handle.load()->cancel());
            g_stage = 2;
        });
        External out = weft::run(publish_and_await(cancelled_inside_expired_scope(), &handle), {.workers = 1});
        canceller.join();
        CHECK(out.first_was_plain_cancel);
        CHECK(out.then_timeout);
    }
    SECTION("wait_for") {
        g_stage = 0;
        std::atomic<weft::JoinHandle<bool>*> handle{nullptr};
        std::thread canceller([&] {
            while (g_stage.load() != 3 || !handle.load()) std::this_thread::yield();
            std::this_thread::sleep_for(3ms);  // past wait_for's deadline (only makes it pass)
            CHECK(handle.load()->cancel());
            g_stage = 4;
        });
        CHECK(weft::run(publish_and_await(wait_for_with_both(), &handle), {.workers = 1}));
        canceller.join();
    }
}
