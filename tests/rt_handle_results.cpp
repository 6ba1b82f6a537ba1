// Results that stay readable (asyncio's Task): done(), cancelled(), result(), exception() on a
// finished JoinHandle; `co_await h` on an lvalue keeps the handle, `co_await std::move(h)`
// takes it; wait/as_completed/gather over handles already awaited; gather over started tasks.
//
// The step-by-step tests run on one worker, where the order is deterministic.
#include <catch2/catch.hpp>

#include <weft/gather.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/wait.hpp>
#include <weft/yield.hpp>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/counted.hpp"
#include "support/log_capture.hpp"
#include "support/scaled.hpp"

// The clear error for an easy mistake: gather (and when_all, when_any) of Tasks passed by
// lvalue picks a deleted overload whose message says std::move (clang 19 prints it: "call to
// deleted function 'gather': weft::gather takes the vector of Tasks over: pass
// std::move(tasks)"), rather than failing inside the vector's copy. Handles by lvalue are
// accepted (read, kept).
template <class A>
concept gather_takes_lvalue = requires(A& a) { weft::gather(a); };
template <class A>
concept when_all_takes_lvalue = requires(A& a) { weft::when_all(a); };
template <class A>
concept when_any_takes_lvalue = requires(A& a) { weft::when_any(a); };
template <class A>
concept gather_takes_rvalue = requires(A& a) { weft::gather(std::move(a)); };
static_assert(!gather_takes_lvalue<std::vector<weft::Task<int>>>);
static_assert(!gather_takes_lvalue<const std::vector<weft::Task<int>>>);
static_assert(!when_all_takes_lvalue<std::vector<weft::Task<int>>>);
static_assert(!when_any_takes_lvalue<std::vector<weft::Task<int>>>);
static_assert(!gather_takes_lvalue<weft::Task<int>>);
static_assert(gather_takes_rvalue<std::vector<weft::Task<int>>>);
static_assert(gather_takes_rvalue<weft::Task<int>>);
static_assert(gather_takes_lvalue<std::vector<weft::JoinHandle<int>>>);
static_assert(gather_takes_lvalue<weft::JoinHandle<int>>);
static_assert(gather_takes_rvalue<std::vector<weft::JoinHandle<int>>>);

namespace {

weft::Task<int> value_after_yields(int value, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield_now();
    co_return value;
}

weft::Task<int> fail_after_yields(std::string message, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield_now();
    throw std::runtime_error(message);
}

weft::Task<std::unique_ptr<int>> boxed(int value) { co_return std::make_unique<int>(value); }

weft::Task<int> forever() {
    for (;;) co_await weft::yield_now();
}

template <class F>
std::string usage_error_of(F&& f) {
    try {
        f();
    } catch (const weft::UsageError& e) {
        return e.what();
    }
    return "(no UsageError)";
}

struct Readable {
    int first = 0, second = 0, third = 0, via_result = 0;
    bool valid_after = false, done = false, cancelled = true, no_exception = false;
    std::string empty_after_take;
    int taken = 0;
};

// Awaited by lvalue (inline-joined: the child has not started), then read again and again.
weft::Task<Readable> read_a_value(int yields) {
    Readable out;
    auto h = weft::spawn(value_after_yields(7, yields));
    out.first = co_await h;
    out.second = co_await h;  // asyncio: awaiting a done task returns the same result
    out.via_result = h.result();
    out.third = co_await h;
    out.valid_after = h.valid();
    out.done = h.done();
    out.cancelled = h.cancelled();
    out.no_exception = h.exception() == nullptr;
    out.taken = co_await std::move(h);  // takes it: the handle is empty now
    out.empty_after_take = usage_error_of([&] { (void)h.result(); });
    co_return out;
}

struct Failed {
    int rethrown = 0;
    std::string result_message, exception_message;
    bool done = false, cancelled = true;
};

weft::Task<Failed> read_a_failure(int yields) {
    Failed out;
    auto h = weft::spawn(fail_after_yields("boom", yields));
    for (int i = 0; i < 3; ++i) {
        try {
            co_await h;
        } catch (const std::runtime_error& e) {
            if (std::string(e.what()) == "boom") ++out.rethrown;
        }
    }
    try {
        (void)h.result();
    } catch (const std::runtime_error& e) {
        out.result_message = e.what();
    }
    try {
        std::rethrow_exception(h.exception());
    } catch (const std::runtime_error& e) {
        out.exception_message = e.what();
    }
    out.done = h.done();
    out.cancelled = h.cancelled();
    co_return out;
}

struct Cancelled {
    bool awaited = false, result = false, exception = false, flag = false;
    std::string not_finished_result, not_finished_exception;
};

weft::Task<Cancelled> read_a_cancellation() {
    Cancelled out;
    auto h = weft::spawn(forever());
    co_await weft::yield_now();  // it runs, and yields back
    out.not_finished_result = usage_error_of([&] { (void)h.result(); });
    out.not_finished_exception = usage_error_of([&] { (void)h.exception(); });
    h.cancel();
    try {
        co_await h;
    } catch (const weft::CancelledError&) {
        out.awaited = true;
    }
    try {
        (void)h.result();
    } catch (const weft::CancelledError&) {
        out.result = true;
    }
    try {
        (void)h.exception();
    } catch (const weft::CancelledError&) {
        out.exception = true;
    }
    out.flag = h.cancelled();
    co_return out;
}

struct MoveOnly {
    int first = 0, peeked = 0;
    std::string second;
};

weft::Task<MoveOnly> read_move_only() {
    MoveOnly out;
    auto a = weft::spawn(boxed(5));
    co_await weft::yield_now();
    out.peeked = *a.result();  // a reference into the frame: nothing moved
    std::unique_ptr<int> value = co_await a;  // lvalue: moves a move-only value out, once
    out.first = *value;
    out.second = usage_error_of([&] { (void)a.result(); });
    co_return out;
}

// wait() and as_completed() over handles that were already awaited: done at once.
struct Again {
    std::size_t wait_done = 0, wait_pending = 0, completed = 0;
    int sum = 0;
};

weft::Task<Again> wait_on_awaited(int count) {
    Again out;
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(value_after_yields(i, i % 3)));
    for (auto& h : handles) out.sum += co_await h;
    auto [done, pending] = co_await weft::wait(handles, weft::ALL_COMPLETED);
    out.wait_done = done.size();
    out.wait_pending = pending.size();
    auto completed = weft::as_completed(handles);
    while (auto i = co_await completed.next()) {
        ++out.completed;
        out.sum += co_await handles[*i];
    }
    co_return out;
}

// gather over tasks already started, by lvalue (kept) and by rvalue (taken), mixed with Tasks.
struct Gathered {
    int a = 0, b = 0, c = 0;
    bool h1_valid = false, h2_valid = true;
    int h1_again = 0;
    std::vector<int> kept, taken;
    bool vector_valid_after_kept = false, vector_empty_after_taken = false;
    int failure_seen = 0;
    bool failed_handle_readable = false;
    int outcomes_ok = 0, outcomes_failed = 0;
};

weft::Task<Gathered> gather_started(int count) {
    Gathered out;
    auto h1 = weft::spawn(value_after_yields(1, 2));
    auto h2 = weft::spawn(value_after_yields(2, 0));
    auto [a, b, c] = co_await weft::gather(h1, std::move(h2), value_after_yields(3, 1));
    out.a = a;
    out.b = b;
    out.c = c;
    out.h1_valid = h1.valid();
    out.h2_valid = h2.valid();
    out.h1_again = co_await h1;

    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(value_after_yields(i, i % 4)));
    out.kept = co_await weft::gather(handles);
    out.vector_valid_after_kept = true;
    for (auto& h : handles) out.vector_valid_after_kept = out.vector_valid_after_kept && h.valid() && h.done();
    out.taken = co_await weft::gather(std::move(handles));
    out.vector_empty_after_taken = handles.empty();

    // A failure among handles: it propagates; the handles stay readable.
    auto good = weft::spawn(value_after_yields(10, 3));
    auto bad = weft::spawn(fail_after_yields("bad", 1));
    try {
        (void)co_await weft::gather(good, bad);
    } catch (const std::runtime_error& e) {
        if (std::string(e.what()) == "bad") ++out.failure_seen;
    }
    try {
        (void)bad.result();
    } catch (const std::runtime_error&) {
        out.failed_handle_readable = true;
    }
    auto outcomes = co_await weft::gather(weft::return_exceptions, good, bad);
    out.outcomes_ok = std::get<0>(outcomes).has_value() ? 1 : 0;  // (good: finished by now, or awaited)
    out.outcomes_failed = std::get<1>(outcomes).has_value() ? 0 : 1;
    co_return out;
}

// A reading of a failure counts as observing it: nothing is logged when the handle goes.
weft::Task<void> read_failure_then_drop() {
    auto h = weft::spawn(fail_after_yields("seen", 0));
    co_await weft::yield_now();
    co_await weft::yield_now();
    (void)h.exception();
}

weft::Task<void> never_read_failure() {
    auto h = weft::spawn(fail_after_yields("unseen", 0));
    co_await weft::yield_now();
    co_await weft::yield_now();
}

// when_all rethrows the first failure in argument order: that one reached the caller, so it
// is not logged as unobserved; a later failure nobody saw is (asyncio: "never retrieved").
weft::Task<std::string> when_all_two_failures() {
    try {
        (void)co_await weft::when_all(fail_after_yields("first", 2), value_after_yields(1, 3),
                                      fail_after_yields("third", 1));
    } catch (const std::runtime_error& e) {
        co_return e.what();
    }
    co_return "";
}

// Many lvalue joins racing completion on several workers: each value exactly, no leak.
weft::Task<std::int64_t> lvalue_joins(int count, test::LifeCounter* counter) {
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < count; ++i) {
        handles.push_back(weft::spawn([](int value, test::Counted) -> weft::Task<int> {
            for (int k = 0; k < value % 3; ++k) co_await weft::yield_now();
            co_return value;
        }(i, test::Counted(*counter))));
    }
    std::int64_t sum = 0;
    for (auto& h : handles) sum += co_await h;
    for (auto& h : handles) sum += h.result();
    co_return sum;
}

}  // namespace

TEST_CASE("a finished JoinHandle stays readable: co_await h again, result(), exception()", "[join_handle][results]") {
    const int yields = GENERATE(0, 2);  // 0: joined inline; 2: the join suspends
    CAPTURE(yields);
    Readable out = weft::run(read_a_value(yields), {.workers = 1});
    CHECK(out.first == 7);
    CHECK(out.second == 7);
    CHECK(out.third == 7);
    CHECK(out.via_result == 7);
    CHECK(out.valid_after);
    CHECK(out.done);
    CHECK_FALSE(out.cancelled);
    CHECK(out.no_exception);
    CHECK(out.taken == 7);
    CHECK(out.empty_after_take.find("co_await std::move(handle)") != std::string::npos);
}

TEST_CASE("a failed task rethrows from every co_await and from result(), exception() returns it",
          "[join_handle][results]") {
    const int yields = GENERATE(0, 2);
    CAPTURE(yields);
    Failed out = weft::run(read_a_failure(yields), {.workers = 1});
    CHECK(out.rethrown == 3);
    CHECK(out.result_message == "boom");
    CHECK(out.exception_message == "boom");
    CHECK(out.done);
    CHECK_FALSE(out.cancelled);
}

TEST_CASE("a cancelled task: result() and exception() throw CancelledError, before its end, UsageError",
          "[join_handle][results]") {
    Cancelled out = weft::run(read_a_cancellation(), {.workers = 1});
    CHECK(out.awaited);
    CHECK(out.result);
    CHECK(out.exception);
    CHECK(out.flag);
    CHECK(out.not_finished_result.find("has not finished") != std::string::npos);
    CHECK(out.not_finished_exception.find("has not finished") != std::string::npos);
}

TEST_CASE("a move-only result: result() reads it in place, an lvalue co_await moves it out once",
          "[join_handle][results]") {
    MoveOnly out = weft::run(read_move_only(), {.workers = 1});
    CHECK(out.peeked == 5);
    CHECK(out.first == 5);
    CHECK(out.second.find("moved out") != std::string::npos);
}

TEST_CASE("wait() and as_completed() accept handles that were already awaited", "[join_handle][results][wait]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    const int count = 50;
    Again out = weft::run(wait_on_awaited(count), {.workers = workers});
    CHECK(out.wait_done == count);
    CHECK(out.wait_pending == 0);
    CHECK(out.completed == count);
    CHECK(out.sum == 2 * (count * (count - 1) / 2));
}

TEST_CASE("gather over started tasks: lvalue handles are read and kept, rvalue handles are taken",
          "[gather][results]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    const int count = 40;
    Gathered out = weft::run(gather_started(count), {.workers = workers});
    CHECK(out.a == 1);
    CHECK(out.b == 2);
    CHECK(out.c == 3);
    CHECK(out.h1_valid);
    CHECK_FALSE(out.h2_valid);
    CHECK(out.h1_again == 1);
    std::vector<int> expected(count);
    for (int i = 0; i < count; ++i) expected[i] = i;
    CHECK(out.kept == expected);
    CHECK(out.taken == expected);
    CHECK(out.vector_valid_after_kept);
    CHECK(out.vector_empty_after_taken);  // (moved into gather)
    CHECK(out.failure_seen == 1);
    CHECK(out.failed_handle_readable);
    CHECK(out.outcomes_ok == 1);
    CHECK(out.outcomes_failed == 1);
}

TEST_CASE("reading a failure through the handle counts as observing it, an unread one is logged",
          "[join_handle][results]") {
    {
        test::LogCapture log;
        weft::run(read_failure_then_drop(), {.workers = 1});
        CHECK(log.errors().empty());
    }
    {
        test::LogCapture log;
        weft::run(never_read_failure(), {.workers = 1});
        CHECK(log.errors().size() == 1);
    }
}

TEST_CASE("lvalue joins racing completion on several workers: every value, every frame freed",
          "[join_handle][results]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    const int count = test::scaled(20'000, 4'000);
    for (int round = 0; round < 3; ++round) {
        test::LifeCounter counter;
        std::int64_t sum = weft::run(lvalue_joins(count, &counter), {.workers = workers});
        REQUIRE(sum == 2 * (static_cast<std::int64_t>(count) * (count - 1) / 2));
        REQUIRE(counter.live() == 0);
    }
}

TEST_CASE("when_all: the failure it rethrows is observed, not logged, an unseen one is", "[gather][results]") {
    test::LogCapture log;
    REQUIRE(weft::run(when_all_two_failures(), {.workers = 1}) == "first");
    auto errors = log.errors();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].text.find("third") != std::string::npos);
}

// Bad input is refused before anything starts: an empty handle among gather's arguments must not
// leave the Tasks beside it spawned and running detached.
namespace {
weft::Task<int> count_run(std::atomic<int>& runs) {
    runs.fetch_add(1, std::memory_order_relaxed);
    co_return 1;
}

weft::Task<int> gather_with_an_empty_handle(std::atomic<int>& runs) {
    weft::JoinHandle<int> empty;
    bool refused = false;
    try {
        auto both = co_await weft::gather(count_run(runs), std::move(empty));
        (void)both;
    } catch (const weft::UsageError&) {
        refused = true;
    }
    // One worker, FIFO: a task spawned by gather would be queued ahead of this yield.
    co_await weft::yield_now();
    co_await weft::yield_now();
    co_return refused ? 1 : 0;
}
}  // namespace

TEST_CASE("gather with an empty JoinHandle throws UsageError before spawning its Tasks", "[gather][results]") {
    std::atomic<int> runs{0};
    int refused = weft::run(gather_with_an_empty_handle(runs), {.workers = 1});
    CHECK(refused == 1);
    CHECK(runs.load() == 0);
}
