// TimeoutScope::reschedule from another task (review-exec finding 2), as asyncio allows a
// watchdog to move another task's Timeout:
//  - into the past or to now: the owner, suspended in a wait nobody ends, is woken and gets
//    TimeoutError from its scope (it used to be marked expired but never woken: a hang);
//  - into the near future: the new deadline fires;
//  - many reschedules racing with the owner's own awaits and peeks (expired(), when()): one
//    TimeoutError per owner, no data race (the tsan preset checks that).
// Outside a task reschedule throws UsageError and leaves the deadline as it was (it used to
// disarm the timer and move the deadline first).
#include <catch2/catch.hpp>

#include <weft/event.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/wait.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

struct Tally {
    std::atomic<int> timeouts{0};       // TimeoutError from the owner's own scope
    std::atomic<int> other_errors{0};   // anything else (must stay 0)
    std::atomic<int> reschedules{0};    // reschedule calls that returned
};

struct Pair {
    weft::Event scope_ready;  // the owner published its scope
    weft::Event never;        // nobody sets it
    weft::TimeoutScope* scope = nullptr;
};

enum class Target { past, now, soon };

weft::Clock::time_point target_time(Target target) {
    switch (target) {
        case Target::past:
            return weft::now() - 1s;
        case Target::now:
            return weft::now();
        case Target::soon:
            break;
    }
    return weft::now() + 2ms;
}

// Waits inside a one-day deadline for an event nobody sets; only a reschedule ends it.
weft::Task<void> owner(Pair* pair, Tally* tally, bool peeking) {
    try {
        auto deadline = weft::timeout(24h);
        pair->scope = &deadline;
        pair->scope_ready.set();
        if (peeking) {
            // Reads the scope's state between awaits while the watchdog moves it.
            for (;;) {
                (void)deadline.expired();
                (void)deadline.when();
                co_await weft::yield_now();
            }
        }
        co_await pair->never.wait();
    } catch (const weft::TimeoutError& error) {
        if (error.scope() == pair->scope) {
            tally->timeouts.fetch_add(1);
        } else {
            tally->other_errors.fetch_add(1);
        }
        co_return;
    } catch (...) {
        tally->other_errors.fetch_add(1);
    }
}

// Moves the owner's deadline `later` times into the far future, then to `target`.
weft::Task<void> watchdog(Pair* pair, Tally* tally, Target target, int later) {
    co_await pair->scope_ready.wait();
    for (int i = 0; i < later; ++i) {
        pair->scope->reschedule(weft::now() + 1h + std::chrono::milliseconds(i));
        co_await weft::yield_now();
    }
    pair->scope->reschedule(target_time(target));
    tally->reschedules.fetch_add(1);
}

// False if some owner was still waiting after 30 s (a hang guard, not a timing check).
weft::Task<bool> pairs(int count, Target target, int later, bool peeking, Tally* tally) {
    std::vector<Pair> state(static_cast<std::size_t>(count));
    std::vector<weft::JoinHandle<void>> handles;
    for (auto& pair : state) {
        handles.push_back(weft::spawn(owner(&pair, tally, peeking)));
        handles.push_back(weft::spawn(watchdog(&pair, tally, target, later)));
    }
    auto result = co_await weft::wait(handles, weft::ALL_COMPLETED, 30s);
    if (result.pending.empty()) co_return true;
    for (auto& handle : handles) handle.cancel();
    co_await weft::wait(handles);  // (`state` must outlive them)
    co_return false;
}

void run_pairs(unsigned workers, int count, Target target, int later, bool peeking) {
    Tally tally;
    const bool in_time = weft::run(pairs(count, target, later, peeking, &tally), {.workers = workers});
    REQUIRE(in_time);
    REQUIRE(tally.other_errors.load() == 0);
    REQUIRE(tally.reschedules.load() == count);
    REQUIRE(tally.timeouts.load() == count);
}

weft::Task<bool> reschedule_from_thread_refused() {
    bool refused = false;
    bool unchanged = false;
    try {
        auto deadline = weft::timeout(1h);
        const auto before = deadline.when();
        std::thread([&] {
            try {
                deadline.reschedule(weft::Clock::now() + 2h);
            } catch (const weft::UsageError&) {
                refused = true;
            }
        }).join();
        unchanged = deadline.when() == before && !deadline.expired();
        deadline.reschedule(weft::now());  // the owner's own: its timer is still its to settle
        co_await weft::yield_now();        // raises
    } catch (const weft::TimeoutError&) {
        co_return refused&& unchanged;
    }
    co_return false;
}

}  // namespace

TEST_CASE("TimeoutScope::reschedule into the past from another task wakes the owner", "[timeout][reschedule]") {
    for (unsigned workers : {1u, 2u, 4u}) {
        for (int round = 0; round < 20; ++round) run_pairs(workers, 8, Target::past, 0, false);
    }
}

TEST_CASE("TimeoutScope::reschedule to now from another task wakes the owner", "[timeout][reschedule]") {
    for (unsigned workers : {1u, 2u, 4u}) {
        for (int round = 0; round < 20; ++round) run_pairs(workers, 8, Target::now, 0, false);
    }
}

TEST_CASE("TimeoutScope::reschedule to the near future from another task fires there", "[timeout][reschedule]") {
    for (unsigned workers : {1u, 2u}) {
        for (int round = 0; round < 10; ++round) run_pairs(workers, 8, Target::soon, 0, false);
    }
}

TEST_CASE("TimeoutScope::reschedule from other tasks races the owner's awaits and peeks", "[timeout][reschedule]") {
    for (unsigned workers : {1u, 2u, 4u}) {
        for (int round = 0; round < 10; ++round) {
            run_pairs(workers, 8, Target::past, 16, true);
            run_pairs(workers, 8, Target::soon, 16, true);
        }
    }
}

TEST_CASE("TimeoutScope::reschedule outside a task is refused and keeps the deadline", "[timeout][reschedule]") {
    REQUIRE(weft::run(reschedule_from_thread_refused(), {.workers = 1}));
}
