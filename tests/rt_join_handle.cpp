// weft::JoinHandle<T>: results and exceptions through the handle, id()/name()/is_done(),
// detach() and dropped handles (no leak either way), misuse (awaiting a taken handle, two joiners),
// and cancel() reaching a task that is being awaited.
//
// The step-by-step tests run on one worker, where the order is deterministic: a freshly
// spawned task cannot run until the running task suspends.
#include <catch2/catch.hpp>

#include <weft/current_task.hpp>
#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/counted.hpp"
#include "support/scaled.hpp"

namespace {

struct ParseError : std::runtime_error {
    ParseError(const std::string& message, int line) : std::runtime_error(message), line(line) {}
    int line;
};

weft::Task<int> parse(int line) {
    if (line % 2) throw ParseError("unexpected token", line);
    co_return line;
}

weft::Task<int> parse_after_yield(int line) {
    co_await weft::yield_now();
    co_return co_await parse(line);
}

weft::Task<void> throw_int() {
    throw 42;
    co_return;
}

struct Outcomes {
    std::int64_t value_sum = 0;
    std::int64_t error_line_sum = 0;
    int errors = 0;
};

// Half the tasks throw ParseError; each arrives at the awaiter with its own line number.
weft::Task<Outcomes> parse_many(int count) {
    std::vector<weft::JoinHandle<int>> handles;
    for (int line = 0; line < count; ++line)
        handles.push_back(weft::spawn(line % 4 < 2 ? parse(line) : parse_after_yield(line)));
    Outcomes out;
    for (auto& handle : handles) {
        try {
            out.value_sum += co_await handle;
        } catch (const ParseError& e) {
            if (std::string(e.what()) == "unexpected token") {
                out.error_line_sum += e.line;
                ++out.errors;
            }
        }
    }
    co_return out;
}

weft::Task<bool> non_std_exception_arrives() {
    auto handle = weft::spawn(throw_int());
    try {
        co_await handle;
    } catch (int value) {
        co_return value == 42;
    }
    co_return false;
}

struct Observed {
    std::uint64_t id = 0, reported_id = 0, other_id = 0;
    std::string name, reported_name, unnamed;
    bool done_before_run = true, done_after_run = false, valid_after_await = true;
    bool throws_when_empty = false;
};

weft::Task<std::pair<std::uint64_t, std::string>> whoami() {
    weft::TaskInfo info = weft::current_task();
    co_return std::pair{info.id, std::string(info.name)};
}

weft::Task<Observed> observe_handle() {
    Observed seen;
    auto handle = weft::spawn(whoami(), "parser");
    auto other = weft::spawn(whoami());
    seen.id = handle.id();
    seen.other_id = other.id();
    seen.name = std::string(handle.name());
    seen.unnamed = std::string(other.name());
    seen.done_before_run = handle.is_done();  // one worker: it cannot have run yet
    co_await weft::yield_now();               // both children run before this task resumes
    seen.done_after_run = handle.is_done();
    auto [id, name] = co_await handle;
    seen.reported_id = id;
    seen.reported_name = name;
    seen.valid_after_await = handle.valid();  // an lvalue await keeps the handle
    (void)co_await std::move(handle);          // this one takes it
    try {
        (void)handle.id();
    } catch (const weft::UsageError&) {
        seen.throws_when_empty = true;
    }
    other.detach();
    co_return seen;
}

weft::Task<void> hold_then_finish(test::Counted, std::atomic<int>* finished) {
    co_await weft::yield_now();
    finished->fetch_add(1);
}

// Every task outlives its handle: half are detached, half have their handle dropped
// (some before they run, some after they finished). The root then waits, by yielding,
// until all have finished.
weft::Task<void> drop_handles(int count, test::LifeCounter* counter, std::atomic<int>* finished) {
    std::vector<weft::JoinHandle<void>> late_drops;
    for (int i = 0; i < count; ++i) {
        auto handle = weft::spawn(hold_then_finish(test::Counted(*counter), finished));
        if (i % 3 == 0) handle.detach();
        else if (i % 3 == 1) late_drops.push_back(std::move(handle));
        // else: dropped right here, most likely before the task ran
    }
    while (finished->load() < count) co_await weft::yield_now();
    late_drops.clear();  // dropped after the tasks finished: the last reference
}

// An lvalue await keeps the result: a second one returns it again (asyncio). Once taken
// (co_await std::move), the handle is empty: UsageError.
weft::Task<bool> await_twice() {
    auto handle = weft::spawn(parse(8));
    int first = co_await handle;
    int second = co_await handle;
    int taken = co_await std::move(handle);
    try {
        co_await handle;
    } catch (const weft::UsageError&) {
        co_return first == 8 && second == 8 && taken == 8;
    }
    co_return false;
}

weft::Task<bool> await_empty_handle() {
    weft::JoinHandle<int> empty;
    try {
        co_await empty;
    } catch (const weft::UsageError&) {
        co_return true;
    }
    co_return false;
}

// Two tasks awaiting one handle at once: the second gets UsageError, the first the value.
// All on one worker, so each step is deterministic.
constexpr int kLostWakeUp = -1;
constexpr int kRefused = -2;

weft::Task<int> ten_yields_then_eleven() {
    for (int i = 0; i < 10; ++i) co_await weft::yield_now();
    co_return 11;
}

weft::Task<int> first_joiner(weft::JoinHandle<int>* handle, bool* suspending) {
    *suspending = true;  // nothing else runs between here and the suspension below
    co_return co_await *handle;
}

weft::Task<int> second_joiner(weft::JoinHandle<int>* handle) {
    // Resumed more often than the first joiner, so the two are at different resume epochs.
    co_await weft::yield_now();
    co_await weft::yield_now();
    try {
        co_return co_await *handle;
    } catch (const weft::UsageError&) {
        co_return kRefused;
    }
}

// Each joiner's result, or kLostWakeUp if it was never resumed.
weft::Task<std::pair<int, int>> two_joiners(bool target_started_first) {
    bool suspending = false;
    auto target = weft::spawn(ten_yields_then_eleven());
    if (target_started_first) co_await weft::yield_now();  // else the first joiner may run it inline
    auto first = weft::spawn(first_joiner(&target, &suspending));
    while (!suspending) co_await weft::yield_now();
    auto second = weft::spawn(second_joiner(&target));
    // The target ends within a dozen rounds. A bounded number of turns, so that a lost
    // wake-up fails the test instead of hanging it.
    for (int turn = 0; turn < 50 && !(first.is_done() && second.is_done()); ++turn) co_await weft::yield_now();
    std::pair<int, int> out{kLostWakeUp, kLostWakeUp};
    if (first.is_done()) out.first = co_await first;
    if (second.is_done()) out.second = co_await second;
    first.detach();
    second.detach();
    co_return out;
}

// A task suspended inside a nested co_await when its handle is awaited: the awaiter must
// wait for the whole chain, whatever queue position the task is in.
weft::Task<int> two_yields_then_one() {
    co_await weft::yield_now();
    co_await weft::yield_now();
    co_return 1;
}

weft::Task<int> nested_then_add() {
    int inner = co_await two_yields_then_one();
    co_return inner + 1;
}

weft::Task<int> join_started_nested_task() {
    auto handle = weft::spawn(nested_then_add());
    co_await weft::yield_now();  // one worker: the child runs and suspends inside the nested task
    co_return co_await handle;
}

// cancel() on a task that another task is awaiting: the child sees CancelledError at its
// next suspension, and so does its awaiter. One worker; the canceller acts on its third turn.
weft::Task<int> count_turns(int* turns) {
    for (; *turns < 100; ++*turns) co_await weft::yield_now();
    co_return *turns;
}

weft::Task<void> cancel_on_third_turn(weft::JoinHandle<int>* handle) {
    co_await weft::yield_now();
    co_await weft::yield_now();
    handle->cancel();
}

weft::Task<std::pair<bool, int>> cancel_awaited_child() {
    int turns = 0;
    weft::JoinHandle<int> child;
    weft::spawn(cancel_on_third_turn(&child)).detach();
    child = weft::spawn(count_turns(&turns));
    try {
        co_await child;  // at once: the child has not started yet
    } catch (const weft::CancelledError&) {
        co_return std::pair{true, turns};
    }
    co_return std::pair{false, turns};
}

}  // namespace

TEST_CASE("exceptions arrive through JoinHandle with their type and payload", "[join_handle]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const int count = test::scaled(20'000, 5'000);
    CAPTURE(workers);
    Outcomes out = weft::run(parse_many(count), {.workers = workers});
    // Even lines return themselves, odd lines throw with their number.
    const std::int64_t evens = static_cast<std::int64_t>(count / 2) * (count / 2 - 1);
    const std::int64_t odds = static_cast<std::int64_t>(count / 2) * (count / 2);
    REQUIRE(out.errors == count / 2);
    REQUIRE(out.value_sum == evens);
    REQUIRE(out.error_line_sum == odds);

    REQUIRE(weft::run(non_std_exception_arrives(), {.workers = workers}));
}

TEST_CASE("JoinHandle reports the task's id, name and completion", "[join_handle]") {
    Observed seen = weft::run(observe_handle(), {.workers = 1});
    REQUIRE(seen.id != 0);
    REQUIRE(seen.other_id != 0);
    REQUIRE(seen.id != seen.other_id);
    REQUIRE(seen.name == "parser");
    REQUIRE(seen.unnamed.empty());
    REQUIRE_FALSE(seen.done_before_run);
    REQUIRE(seen.done_after_run);
    REQUIRE(seen.reported_id == seen.id);
    REQUIRE(seen.reported_name == "parser");
    REQUIRE(seen.valid_after_await);
    REQUIRE(seen.throws_when_empty);
}

TEST_CASE("detached tasks and dropped handles run to completion without leaking", "[join_handle]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const int count = test::scaled(30'000, 10'000);
    CAPTURE(workers);
    for (int round = 0; round < 3; ++round) {
        test::LifeCounter counter;
        std::atomic<int> finished{0};
        weft::run(drop_handles(count, &counter, &finished), {.workers = workers});
        REQUIRE(finished.load() == count);
        REQUIRE(counter.live() == 0);                 // every frame was freed...
        REQUIRE(counter.constructed() == 2 * count);  // ...and held one copy (plus the temporary)
    }
}

TEST_CASE("awaiting a JoinHandle twice returns the result again, once taken it throws UsageError",
          "[join_handle][usage]") {
    REQUIRE(weft::run(await_twice(), {.workers = 2}));
    REQUIRE(weft::run(await_empty_handle(), {.workers = 1}));
}

TEST_CASE("a second task awaiting the same JoinHandle gets UsageError", "[join_handle][usage]") {
    const bool target_started_first = GENERATE(true, false);
    CAPTURE(target_started_first);
    auto [first, second] = weft::run(two_joiners(target_started_first), {.workers = 1});
    REQUIRE(second == kRefused);
    REQUIRE(first == 11);
}

TEST_CASE("awaiting a task that is suspended inside a nested co_await waits for all of it", "[join_handle]") {
    for (int round = 0; round < 3; ++round) REQUIRE(weft::run(join_started_nested_task(), {.workers = 1}) == 2);
}

TEST_CASE("cancel() reaches a task while another task awaits it", "[join_handle][cancel]") {
    auto [cancelled, turns] = weft::run(cancel_awaited_child(), {.workers = 1});
    REQUIRE(cancelled);
    REQUIRE(turns == 2);  // the child's two turns before the canceller's third
}
