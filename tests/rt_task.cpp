// weft::Task<T>: laziness, results of every kind, exceptions, frame ownership, and
// symmetric transfer (a chain of a million nested co_awaits runs in constant stack).
#include <catch2/catch.hpp>

#include <weft/detail/context.hpp>
#include <weft/error.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/counted.hpp"
#include "support/scaled.hpp"
#include "support/stack_span.hpp"

namespace {

struct Boom : std::runtime_error {
    Boom(const std::string& message, int code) : std::runtime_error(message), code(code) {}
    int code;
};

weft::Task<int> mark_and_return(bool* ran, int value) {
    *ran = true;
    co_return value;
}

weft::Task<std::string> text(std::string value) { co_return value + "!"; }

weft::Task<void> set_flag(bool* flag) {
    *flag = true;
    co_return;
}

weft::Task<std::unique_ptr<int>> boxed(int value) { co_return std::make_unique<int>(value); }

weft::Task<int> unbox_twice() {
    std::unique_ptr<int> a = co_await boxed(20);
    std::unique_ptr<int> b = co_await boxed(22);
    co_return *a + *b;
}

weft::Task<int> throws_boom(int code) {
    if (code != 0) throw Boom("boom", code);
    co_return 0;
}

weft::Task<void> throws_after_yield(int code) {
    co_await weft::yield_now();
    if (code != 0) throw Boom("late boom", code);
}

weft::Task<int> rethrows_through(int levels, int code) {
    if (levels == 0) co_return co_await throws_boom(code);
    co_return co_await rethrows_through(levels - 1, code);
}

weft::Task<void> holds(test::Counted, bool* ran) {
    *ran = true;
    co_return;
}

weft::Task<void> guard_in_body(test::LifeCounter* counter) {
    test::Counted guard(*counter);
    co_await weft::yield_now();
}

// ---- the deep chain ----------------------------------------------------------------------

using test::kStackSlack;
using test::StackSpan;

weft::Task<std::uint64_t> descend(std::uint64_t depth, StackSpan* span) {
    span->note();
    if (depth == 0) co_return 0;
    std::uint64_t below = co_await descend(depth - 1, span);
    span->note();
    co_return below + 1;
}

weft::Task<std::uint64_t> descend_and_throw(std::uint64_t depth, StackSpan* span) {
    span->note();
    if (depth == 0) throw Boom("bottom", 7);
    std::uint64_t below = co_await descend_and_throw(depth - 1, span);
    co_return below + 1;
}

weft::Task<int> catch_at_top(std::uint64_t depth, StackSpan* span) {
    try {
        co_await descend_and_throw(depth, span);
    } catch (const Boom& e) {
        co_return e.code;
    }
    co_return -1;
}

// Suspends (and may move to another worker) before and after awaiting its child: the child,
// started as a nested call, suspends inside it and later finishes on its own.
weft::Task<std::uint64_t> descend_suspending(std::uint64_t depth) {
    co_await weft::yield_now();
    if (depth == 0) co_return 1;
    std::uint64_t below = co_await descend_suspending(depth - 1);
    co_await weft::yield_now();
    co_return below + depth;
}

weft::Task<std::uint64_t> many_suspending_chains(int chains, std::uint64_t depth) {
    std::uint64_t sum = 0;
    for (int i = 0; i < chains; ++i) sum += co_await descend_suspending(depth);
    co_return sum;
}

weft::Task<int> plain(int value) { co_return value; }

weft::Task<int> suspends_then(int value) {
    co_await weft::yield_now();
    co_return value;
}

// Each misuse of a spent Task (moved from, default-constructed, already awaited; awaited or
// spawned) that threw UsageError, or -1 if the one real await went wrong.
weft::Task<int> misuse_spent_tasks(bool suspending, test::LifeCounter* frames) {
    int refused = 0;
    weft::Task<int> task = suspending ? suspends_then(5) : plain(5);
    weft::Task<int> kept = std::move(task);
    try {
        (void)co_await std::move(task);  // moved from
    } catch (const weft::UsageError&) {
        ++refused;
    }
    weft::Task<int> empty;
    try {
        (void)co_await std::move(empty);  // never held a coroutine
    } catch (const weft::UsageError&) {
        ++refused;
    }
    int value = co_await std::move(kept);
    if (value != 5) co_return -1;
    for (int again = 0; again < 3; ++again) {
        try {
            (void)co_await std::move(kept);  // already awaited
        } catch (const weft::UsageError&) {
            ++refused;
        }
    }
    try {
        weft::detail::spawn_last(std::move(kept)).detach();  // already awaited: must not run again
    } catch (const weft::UsageError&) {
        ++refused;
    }
    bool ran = false;
    weft::Task<void> holder = holds(test::Counted(*frames), &ran);
    co_await std::move(holder);
    try {
        co_await std::move(holder);
    } catch (const weft::UsageError&) {
        ++refused;
    }
    co_return refused;
}

}  // namespace

// (weft::spawn, the fork-join fast path, checks only for an empty Task; the combinators'
// spawn, used here, and Runtime::spawn check for an awaited one too.)
TEST_CASE("co_await or spawn of a spent Task (moved from, or already awaited) throws UsageError", "[task][usage]") {
    const bool suspending = GENERATE(false, true);
    CAPTURE(suspending);
    test::LifeCounter frames;
    REQUIRE(weft::run(misuse_spent_tasks(suspending, &frames), {.workers = 1}) == 7);
    REQUIRE(frames.live() == 0);
}

TEST_CASE("a Task's body does not run until it is awaited", "[task]") {
    bool ran = false;
    weft::Task<int> task = mark_and_return(&ran, 7);
    REQUIRE_FALSE(ran);
    weft::Task<int> moved = std::move(task);
    REQUIRE_FALSE(ran);
    REQUIRE(weft::run(std::move(moved), {.workers = 1}) == 7);
    REQUIRE(ran);
}

TEST_CASE("Task delivers values, void and move-only results", "[task]") {
    REQUIRE(weft::run(text("hello"), {.workers = 1}) == "hello!");
    REQUIRE(weft::run(unbox_twice(), {.workers = 1}) == 42);

    std::unique_ptr<int> box = weft::run(boxed(5), {.workers = 1});
    REQUIRE(box != nullptr);
    REQUIRE(*box == 5);

    bool flag = false;
    weft::run(set_flag(&flag), {.workers = 1});
    REQUIRE(flag);
}

TEST_CASE("a Task's exception propagates to its awaiter, type and payload intact", "[task]") {
    SECTION("thrown before the first suspension") {
        try {
            weft::run(throws_boom(3), {.workers = 1});
            FAIL("no exception");
        } catch (const Boom& e) {
            REQUIRE(e.code == 3);
            REQUIRE(std::string(e.what()) == "boom");
        }
    }
    SECTION("thrown after a suspension") {
        REQUIRE_THROWS_MATCHES(weft::run(throws_after_yield(4), {.workers = 1}), Boom,
                               Catch::Predicate<Boom>([](const Boom& e) { return e.code == 4; }));
    }
    SECTION("through nested awaiters") {
        REQUIRE_THROWS_MATCHES(weft::run(rethrows_through(10, 5), {.workers = 2}), Boom,
                               Catch::Predicate<Boom>([](const Boom& e) { return e.code == 5; }));
    }
    SECTION("the awaiter can catch it and go on") {
        StackSpan span;
        REQUIRE(weft::run(catch_at_top(3, &span), {.workers = 1}) == 7);
    }
}

TEST_CASE("destroying a Task that never ran frees its frame", "[task]") {
    test::LifeCounter counter;
    bool ran = false;
    {
        weft::Task<void> task = holds(test::Counted(counter), &ran);
        REQUIRE(counter.live() == 1);  // the parameter's copy inside the frame
    }
    REQUIRE(counter.live() == 0);
    REQUIRE_FALSE(ran);

    SECTION("a move-assigned Task frees the frame it held") {
        weft::Task<void> a = holds(test::Counted(counter), &ran);
        weft::Task<void> b = holds(test::Counted(counter), &ran);
        REQUIRE(counter.live() == 2);
        a = std::move(b);
        REQUIRE(counter.live() == 1);
    }
    SECTION("locals of a body that never ran are never constructed") {
        {
            weft::Task<void> task = guard_in_body(&counter);
        }
        REQUIRE(counter.constructed() == 2);  // the two Counted of the first frame only
    }
    SECTION("many frames") {
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < 10'000; ++i) tasks.push_back(holds(test::Counted(counter), &ran));
        REQUIRE(counter.live() == 10'000);
        tasks.clear();
    }
    REQUIRE(counter.live() == 0);
    REQUIRE_FALSE(ran);
}

TEST_CASE("an awaited Task's locals are destroyed when it finishes", "[task]") {
    test::LifeCounter counter;
    weft::run(guard_in_body(&counter), {.workers = 1});
    REQUIRE(counter.constructed() == 1);
    REQUIRE(counter.live() == 0);
}

TEST_CASE("a deep chain of nested co_awaits does not grow the stack", "[task][stack]") {
    const std::uint64_t depth = test::scaled<std::uint64_t>(1'000'000, 10'000);
    StackSpan span;
    REQUIRE(weft::run(descend(depth, &span), {.workers = 1}) == depth);
    INFO("stack used across " << depth << " levels: " << span.width() << " bytes");
    REQUIRE(span.width() < kStackSlack);
}

TEST_CASE("an awaited Task that suspends midway resumes its awaiter when it finishes", "[task]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    // Past the nested-call bound: children started both ways suspend inside their awaiters.
    const std::uint64_t depth = weft::detail::kMaxNestedRuns + 100;
    const int chains = test::scaled(200, 20);
    const std::uint64_t per_chain = 1 + depth * (depth + 1) / 2;
    REQUIRE(weft::run(many_suspending_chains(chains, depth), {.workers = workers}) == per_chain * chains);
}

TEST_CASE("an exception unwinds a deep chain without growing the stack", "[task][stack]") {
    const std::uint64_t depth = test::scaled<std::uint64_t>(100'000, 5'000);
    StackSpan span;
    REQUIRE(weft::run(catch_at_top(depth, &span), {.workers = 1}) == 7);
    INFO("stack used across " << depth << " levels: " << span.width() << " bytes");
    REQUIRE(span.width() < kStackSlack);
}
