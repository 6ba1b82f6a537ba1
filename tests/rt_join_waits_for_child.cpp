// A task cancelled while it awaits a started child's JoinHandle (asyncio's `await task`):
// the cancellation goes to the child, and the awaiting task waits for the child to finish
// before it raises. So the child's cleanup has run when the parent's CancelledError (or
// the TimeoutError of wait_for or of a timeout scope) arrives, as asyncio documents for
// wait_for ("it waits until the task is actually cancelled"). A child that refuses the
// cancellation and returns a value hands that value to its cancelled awaiter, as in asyncio.
//
// Step-by-step tests run on the paused clock (one worker, virtual time): instants are exact.
// The multi-worker case synchronises only through the tasks and checks exact counts.
#include <catch2/catch.hpp>

#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/wait.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "support/clock.hpp"

using namespace std::chrono_literals;

namespace {

struct Child {
    std::atomic<int> started{0};
    std::atomic<int> caught{0};
    std::atomic<int> unwound{0};  // finished its cleanup (after an await of its own)
    std::string message;          // the CancelledError's message it caught
};

// Sleeps an hour; on cancellation, cleans up for `cleanup` (an await: the request was
// consumed by the catch, so the sleep runs) and rethrows.
weft::Task<int> slow_unwinder(Child* child, std::chrono::milliseconds cleanup) {
    child->started.fetch_add(1);
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError& e) {
        child->caught.fetch_add(1);
        child->message = std::string(e.message());
    }
    co_await weft::sleep(cleanup);
    child->unwound.fetch_add(1);
    throw weft::CancelledError(child->message);
}

// Refuses the cancellation: catches it and returns a value after an await.
weft::Task<int> refuser(Child* child) {
    child->started.fetch_add(1);
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        child->caught.fetch_add(1);
    }
    co_await weft::sleep(5ms);
    child->unwound.fetch_add(1);
    co_return 7;
}

struct Seen {
    bool threw = false;
    std::int64_t at_ms = -1;
    bool child_done = false;       // the handle said done() when the exception arrived
    bool child_cancelled = false;  // ... and cancelled()
    int child_unwound = -1;        // the child's cleanup count then
    std::string message;
    int value = 0;
    bool next_await_ok = false;
};

// Awaits a started slow_unwinder through an lvalue handle (which stays readable).
weft::Task<int> join_started(Child* child, Seen* seen, std::chrono::milliseconds cleanup) {
    const auto start = weft::now();
    auto handle = weft::spawn(slow_unwinder(child, cleanup));
    co_await weft::yield_now();  // it starts on its own (else the join would run it inline)
    try {
        co_return co_await handle;
    } catch (const weft::CancelledError& e) {
        seen->threw = true;
        seen->at_ms = test::ms_since(start);
        seen->child_done = handle.done();
        seen->child_cancelled = handle.cancelled();
        seen->child_unwound = child->unwound.load();
        seen->message = std::string(e.message());
        throw;
    }
}

weft::Task<bool> cancel_after(std::chrono::milliseconds delay, weft::Task<int> work, const char* message) {
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(std::move(work)));
    co_await weft::sleep(delay);
    if (message) {
        handles[0].cancel(message);
    } else {
        handles[0].cancel();
    }
    co_await weft::wait(handles);
    co_return handles[0].cancelled();
}

weft::Task<int> join_refuser(Child* child, Seen* seen) {
    auto handle = weft::spawn(refuser(child));
    co_await weft::yield_now();
    seen->value = co_await handle;
    co_await weft::sleep(1ms);  // the request went to the child, which consumed it
    seen->next_await_ok = true;
    co_return seen->value;
}

weft::Task<Seen> wait_for_started(Child* child) {
    Seen seen;
    const auto start = weft::now();
    auto handle = weft::spawn(slow_unwinder(child, 20ms));
    co_await weft::yield_now();
    try {
        co_await weft::wait_for(std::move(handle), 50ms);
    } catch (const weft::TimeoutError&) {
        seen.threw = true;
        seen.at_ms = test::ms_since(start);
        seen.child_unwound = child->unwound.load();
    }
    co_return seen;
}

weft::Task<Seen> scope_around_join(Child* child) {
    Seen seen;
    const auto start = weft::now();
    auto handle = weft::spawn(slow_unwinder(child, 20ms));
    co_await weft::yield_now();
    try {
        auto deadline = weft::timeout(50ms);
        co_await handle;
    } catch (const weft::TimeoutError&) {
        seen.threw = true;
        seen.at_ms = test::ms_since(start);
        seen.child_done = handle.done();
        seen.child_cancelled = handle.cancelled();
        seen.child_unwound = child->unwound.load();
    }
    co_return seen;
}

// Its own cancel() is pending when it reaches the join: the child gets it, and the join waits.
weft::Task<int> join_with_own_cancel_pending(Child* child, Seen* seen) {
    const auto start = weft::now();
    auto handle = weft::spawn(slow_unwinder(child, 20ms));
    co_await weft::yield_now();
    weft::current_task().cancel();
    try {
        co_return co_await std::move(handle);
    } catch (const weft::CancelledError&) {
        seen->threw = true;
        seen->at_ms = test::ms_since(start);
        seen->child_unwound = child->unwound.load();
        throw;
    }
}

weft::Task<bool> run_pending(Child* child, Seen* seen) {
    std::vector<weft::JoinHandle<int>> handles;
    handles.push_back(weft::spawn(join_with_own_cancel_pending(child, seen)));
    co_await weft::wait(handles);
    co_return handles[0].cancelled();
}

// ---- a cancel() and a deadline together; a second deadline; cycles ----------------------------

// Catches the first cancellation, cleans up for 100 ms (an await), then ends cancelled.
weft::Task<int> unwinds_for_100ms() {
    bool cancelled = false;
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    if (cancelled) co_await weft::sleep(100ms);
    throw weft::CancelledError();
}

struct Both {
    bool timeout = false;
    bool cancelled = false;
    bool continued = false;
};

// Its own 100 ms deadline around the join; a cancel() from outside comes at 50 ms.
weft::Task<int> deadline_and_cancel(Both* out, bool use_wait_for) {
    auto handle = weft::spawn(unwinds_for_100ms());
    co_await weft::yield_now();
    try {
        if (use_wait_for) {
            co_await weft::wait_for(std::move(handle), 100ms);
        } else {
            auto deadline = weft::timeout(100ms);
            co_await std::move(handle);
        }
    } catch (const weft::TimeoutError&) {
        out->timeout = true;
    } catch (const weft::CancelledError&) {
        out->cancelled = true;
        throw;
    }
    out->continued = true;
    co_return 1;
}

// A child that refuses the first cancellation, then sleeps an hour.
weft::Task<int> refuses_once() {
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
    }
    co_await weft::sleep(1h);
    co_return 1;
}

weft::Task<Seen> second_deadline() {
    Seen seen;
    const auto start = weft::now();
    auto handle = weft::spawn(refuses_once());
    co_await weft::yield_now();
    try {
        auto outer = weft::timeout(200ms);
        co_await weft::wait_for(std::move(handle), 100ms);
    } catch (const weft::TimeoutError&) {
        seen.threw = true;
        seen.at_ms = test::ms_since(start);
    }
    co_return seen;
}

struct Cycle {
    std::vector<weft::JoinHandle<int>> handles;
    std::atomic<int> at_join{0};
    std::atomic<int> exited{0};
    std::atomic<int> cancelled{0};
    bool usage_error = false;
};

// Awaits handles[other]: two of them await each other (a deadlock a cancel() must break).
weft::Task<int> await_other(Cycle* cycle, std::size_t other) {
    struct Exit {
        Cycle* cycle;
        ~Exit() { cycle->exited.fetch_add(1); }
    } on_exit{cycle};
    co_await weft::yield_now();  // both have started
    cycle->at_join.fetch_add(1);
    try {
        co_return co_await cycle->handles[other];
    } catch (const weft::CancelledError&) {
        cycle->cancelled.fetch_add(1);
        throw;
    } catch (const weft::UsageError&) {
        cycle->usage_error = true;
        co_return -1;
    }
}

weft::Task<bool> cancel_a_cycle(Cycle* cycle) {
    cycle->handles.push_back(weft::spawn(await_other(cycle, 1)));
    cycle->handles.push_back(weft::spawn(await_other(cycle, 0)));
    while (cycle->at_join.load() != 2) co_await weft::yield_now();
    co_await weft::yield_now();  // both are suspended in their joins
    bool accepted = cycle->handles[0].cancel();
    while (cycle->exited.load() != 2) co_await weft::yield_now();
    co_return accepted;
}

weft::Task<bool> await_itself(Cycle* cycle) {
    cycle->handles.push_back(weft::spawn(await_other(cycle, 0)));
    while (cycle->exited.load() != 1) co_await weft::yield_now();
    co_return cycle->usage_error;
}

// Two tasks awaiting each other on a 2-worker runtime, cancelled from two plain threads at once
// (or one after the other from one thread): both must end with CancelledError, whatever the
// interleaving of the two walks round the cycle.
struct RacingCycle {
    std::vector<weft::JoinHandle<int>> handles;
    std::atomic<int> started{0};
    std::atomic<int> at_join{0};
    std::atomic<int> exited{0};
    std::atomic<int> cancelled{0};
    std::atomic<int> other{0};  // anything else raised (an internal error, a UsageError)
};

weft::Task<int> await_partner(RacingCycle* cycle, std::size_t other) {
    struct Exit {
        RacingCycle* cycle;
        ~Exit() { cycle->exited.fetch_add(1); }
    } on_exit{cycle};
    cycle->started.fetch_add(1);
    while (cycle->started.load() != 2) co_await weft::yield_now();  // started: neither runs the other inline
    cycle->at_join.fetch_add(1);
    try {
        co_return co_await cycle->handles[other];
    } catch (const weft::CancelledError&) {
        cycle->cancelled.fetch_add(1);
        throw;
    } catch (...) {
        cycle->other.fetch_add(1);
        co_return -1;
    }
}

weft::Task<int> cancel_racing_cycles(int rounds, bool at_once) {
    int bad = 0;
    for (int round = 0; round < rounds; ++round) {
        RacingCycle cycle;
        cycle.handles.push_back(weft::spawn(await_partner(&cycle, 1)));
        cycle.handles.push_back(weft::spawn(await_partner(&cycle, 0)));
        while (cycle.at_join.load() != 2) co_await weft::yield_now();
        for (int i = 0; i < 3; ++i) co_await weft::yield_now();  // both suspended in their joins
        std::atomic<int> ready{0};
        std::thread first;
        std::thread second;
        if (at_once) {
            first = std::thread([&] {
                ready.fetch_add(1);
                while (ready.load() != 2) std::this_thread::yield();
                cycle.handles[0].cancel();
            });
            second = std::thread([&] {
                ready.fetch_add(1);
                while (ready.load() != 2) std::this_thread::yield();
                cycle.handles[1].cancel();
            });
        } else {
            first = std::thread([&] {
                cycle.handles[0].cancel();
                cycle.handles[1].cancel();
            });
        }
        while (cycle.exited.load() != 2) co_await weft::yield_now();
        first.join();
        if (second.joinable()) second.join();
        if (cycle.cancelled.load() != 2 || cycle.other.load() != 0) ++bad;
    }
    co_return bad;
}

// ---- a long chain ----------------------------------------------------------------------------

// Each link spawns the next, lets it start on its own, and awaits it; the tail sleeps. A
// cancellation of the head is passed down the whole chain (without recursing once per link:
// 100,000 links deep would overflow a worker's stack).
weft::Task<int> link(int depth, std::atomic<int>* at_join, std::atomic<int>* unwound) {
    struct Unwound {
        std::atomic<int>* count;
        ~Unwound() { count->fetch_add(1); }
    } on_exit{unwound};
    if (depth == 0) {
        at_join->fetch_add(1);
        co_await weft::sleep(1h);
        co_return 0;
    }
    auto next = weft::spawn(link(depth - 1, at_join, unwound));
    co_await weft::yield_now();  // the child starts on its own: this join waits, it does not run it
    at_join->fetch_add(1);
    co_return co_await std::move(next);
}

weft::Task<bool> cancel_a_long_chain(int depth, std::atomic<int>* unwound) {
    std::atomic<int> at_join{0};
    auto head = weft::spawn(link(depth, &at_join, unwound));
    while (at_join.load() != depth + 1) co_await weft::yield_now();  // every link waits, the tail sleeps
    head.cancel();
    try {
        co_await head;
    } catch (const weft::CancelledError&) {
        co_return unwound->load() == depth + 1;  // every link had unwound when the head raised
    }
    co_return false;
}

// ---- many workers ---------------------------------------------------------------------------

struct Pair {
    std::atomic<int> child_started{0};
    std::atomic<int> joining{0};  // the parent is at its join (the canceller waits for this)
    std::atomic<int> child_unwound{0};
    std::atomic<int> parent_saw_unwound{-1};  // the child's count when the parent's join raised
};

weft::Task<int> busy_child(Pair* pair) {
    pair->child_started.store(1);
    try {
        for (;;) co_await weft::yield_now();
    } catch (const weft::CancelledError&) {
    }
    for (int i = 0; i < 3; ++i) co_await weft::yield_now();  // cleanup that takes a few turns
    pair->child_unwound.fetch_add(1);
    throw weft::CancelledError();
}

weft::Task<int> parent_of(Pair* pair) {
    auto handle = weft::spawn(busy_child(pair));
    while (pair->child_started.load() == 0) co_await weft::yield_now();  // (not cancelled yet)
    pair->joining.store(1);
    try {
        co_return co_await std::move(handle);
    } catch (const weft::CancelledError&) {
        pair->parent_saw_unwound.store(pair->child_unwound.load());
        throw;
    }
}

weft::Task<bool> cancel_many_joiners(std::vector<Pair>* pairs) {
    std::vector<weft::JoinHandle<int>> parents;
    parents.reserve(pairs->size());
    for (auto& pair : *pairs) parents.push_back(weft::spawn(parent_of(&pair)));
    for (std::size_t i = 0; i < parents.size(); ++i) {
        while ((*pairs)[i].joining.load() == 0) co_await weft::yield_now();
        parents[i].cancel();
    }
    co_await weft::wait(parents);
    bool all_cancelled = true;
    for (auto& parent : parents) all_cancelled = all_cancelled && parent.cancelled();
    co_return all_cancelled;
}

}  // namespace

TEST_CASE("a cancelled joiner waits for its started child to unwind before it raises", "[cancel][join]") {
    Child child;
    Seen seen;
    CHECK(weft::run(cancel_after(10ms, join_started(&child, &seen, 20ms), nullptr), test::paused_clock()));
    CHECK(child.caught == 1);
    CHECK(child.unwound == 1);
    CHECK(seen.threw);
    CHECK(seen.at_ms == 30);  // the cancel at 10 ms, then the child's 20 ms of cleanup
    CHECK(seen.child_done);
    CHECK(seen.child_cancelled);
    CHECK(seen.child_unwound == 1);
}

TEST_CASE("cancel(msg) of a joiner reaches its started child with the message, and comes back with it",
          "[cancel][join]") {
    Child child;
    Seen seen;
    CHECK(weft::run(cancel_after(10ms, join_started(&child, &seen, 1ms), "stop now"), test::paused_clock()));
    CHECK(child.message == "stop now");
    CHECK(seen.threw);
    CHECK(seen.message == "stop now");
    CHECK(seen.child_unwound == 1);
}

TEST_CASE("a started child that refuses its joiner's cancellation hands its value to the joiner", "[cancel][join]") {
    Child child;
    Seen seen;
    CHECK_FALSE(weft::run(cancel_after(10ms, join_refuser(&child, &seen), nullptr), test::paused_clock()));
    CHECK(child.caught == 1);
    CHECK(child.unwound == 1);
    CHECK(seen.value == 7);
    CHECK(seen.next_await_ok);
}

TEST_CASE("wait_for on a started task's handle waits for the cancelled task before TimeoutError", "[cancel][join]") {
    Child child;
    Seen seen = weft::run(wait_for_started(&child), test::paused_clock());
    CHECK(seen.threw);
    CHECK(seen.at_ms == 70);  // the 50 ms deadline, then the task's 20 ms of cleanup
    CHECK(seen.child_unwound == 1);
    CHECK(child.caught == 1);
}

TEST_CASE("a timeout scope around a join raises TimeoutError once the cancelled child has finished", "[cancel][join]") {
    Child child;
    Seen seen = weft::run(scope_around_join(&child), test::paused_clock());
    CHECK(seen.threw);
    CHECK(seen.at_ms == 70);
    CHECK(seen.child_done);
    CHECK(seen.child_cancelled);
    CHECK(seen.child_unwound == 1);
}

TEST_CASE("a joiner whose own cancel() is pending passes it to the started child and waits for it", "[cancel][join]") {
    Child child;
    Seen seen;
    CHECK(weft::run(run_pending(&child, &seen), test::paused_clock()));
    CHECK(child.caught == 1);
    CHECK(seen.threw);
    CHECK(seen.at_ms == 20);
    CHECK(seen.child_unwound == 1);
}

TEST_CASE("joiners cancelled on many workers each raise only after their child unwound", "[cancel][join]") {
    const unsigned workers = GENERATE(2u, 4u);
    CAPTURE(workers);
    for (int round = 0; round < 20; ++round) {
        std::vector<Pair> pairs(200);
        CHECK(weft::run(cancel_many_joiners(&pairs), {.workers = workers}));
        int unwound = 0;
        int saw_unwound = 0;
        for (auto& pair : pairs) {
            unwound += pair.child_unwound.load();
            saw_unwound += pair.parent_saw_unwound.load() == 1 ? 1 : 0;
        }
        CHECK(unwound == 200);
        CHECK(saw_unwound == 200);
    }
}

TEST_CASE("cancelling the head of a 100000-link chain of joins unwinds every link before the head raises",
          "[cancel][join]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    const int depth = 100000;
    std::atomic<int> unwound{0};
    CHECK(weft::run(cancel_a_long_chain(depth, &unwound), {.workers = workers}));
    CHECK(unwound.load() == depth + 1);
}

TEST_CASE("a cancel() from outside during a join stays a CancelledError when the awaiter's deadline passes too",
          "[cancel][join]") {
    const bool use_wait_for = GENERATE(false, true);
    CAPTURE(use_wait_for);
    Both out;
    CHECK(weft::run(cancel_after(50ms, deadline_and_cancel(&out, use_wait_for), nullptr), test::paused_clock()));
    CHECK(out.cancelled);
    CHECK_FALSE(out.timeout);
    CHECK_FALSE(out.continued);
}

TEST_CASE("a second deadline reaches a child that refused the first one", "[cancel][join]") {
    Seen seen = weft::run(second_deadline(), test::paused_clock());
    CHECK(seen.threw);
    CHECK(seen.at_ms == 200);  // not the child's hour
}

TEST_CASE("cancel() breaks two tasks awaiting each other: both end cancelled", "[cancel][join]") {
    Cycle cycle;
    CHECK(weft::run(cancel_a_cycle(&cycle), test::paused_clock()));
    CHECK(cycle.cancelled.load() == 2);
}

TEST_CASE("a task awaiting its own JoinHandle gets UsageError", "[cancel][join]") {
    Cycle cycle;
    CHECK(weft::run(await_itself(&cycle), test::paused_clock()));
}

TEST_CASE("two tasks awaiting each other, cancelled from two threads, both end with CancelledError", "[cancel][join]") {
    const bool at_once = GENERATE(true, false);
    CAPTURE(at_once);
    CHECK(weft::run(cancel_racing_cycles(2000, at_once), {.workers = 2}) == 0);
}
