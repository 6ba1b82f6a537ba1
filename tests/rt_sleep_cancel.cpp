// A cancel() that returned true on a task waiting in sleep() ends that sleep with
// CancelledError, even when the timer fired before the task got to run (asyncio's
// _must_cancel; issue 16 item 7, the sleep part).
//
// On the paused clock (one worker) a cancel and a sleeper's resume never overlap, so each
// cancel() either came before the sleeper ran again (true: its sleep must raise) or after it
// finished (false): exact accounting, no timing involved.
#include <catch2/catch.hpp>

#include <weft/sleep.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <vector>

#include "support/clock.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

// 1: the sleep ended with CancelledError (the task then refuses it and returns).
weft::Task<int> sleeper(std::chrono::milliseconds delay) {
    try {
        co_await weft::sleep(delay);
    } catch (const weft::CancelledError&) {
        co_return 1;
    }
    co_return 0;
}

weft::Task<bool> cancel_after(std::chrono::milliseconds delay, weft::JoinHandle<int>* target) {
    co_await weft::sleep(delay);
    co_return target->cancel();
}

struct Race {
    bool cancel_returned_true = false;
    int sleeper_result = -1;
};

// Both timers are due in the same tick, the canceller's armed first: it fires first, then
// the sleeper's, and the woken run in that order (asyncio's), so the canceller cancels a
// sleeper whose timer has fired but which has not run yet.
weft::Task<Race> timer_fired_then_cancelled() {
    Race out;
    weft::JoinHandle<int> target;
    auto canceller = weft::spawn(cancel_after(10ms, &target));
    co_await weft::yield_now();  // the canceller arms its timer first
    target = weft::spawn(sleeper(10ms));
    out.cancel_returned_true = co_await canceller;
    out.sleeper_result = co_await target;
    co_return out;
}

struct Storm {
    std::int64_t cancels_true = 0;
    std::int64_t sleeps_raised = 0;
    std::int64_t mismatches = 0;  // cancel() returned true, sleep returned normally (or the reverse)
};

weft::Task<bool> cancel_some(std::chrono::milliseconds delay, std::vector<weft::JoinHandle<int>>* targets,
                             std::vector<char>* cancelled, std::uint32_t seed, int count) {
    co_await weft::sleep(delay);
    std::mt19937 rng(seed);
    for (int i = 0; i < count; ++i) {
        std::size_t victim = rng() % targets->size();
        if ((*targets)[victim].cancel()) (*cancelled)[victim] = 1;
    }
    co_return true;
}

weft::Task<Storm> storm(int sleepers, int cancellers, int cancels_each) {
    std::mt19937 rng(16);
    std::vector<weft::JoinHandle<int>> targets;
    targets.reserve(static_cast<std::size_t>(sleepers));
    std::vector<char> cancelled(static_cast<std::size_t>(sleepers), 0);
    std::vector<weft::JoinHandle<bool>> killers;
    for (int i = 0; i < sleepers; ++i) {
        targets.push_back(weft::spawn(sleeper(std::chrono::milliseconds(1 + rng() % 8))));
        if (i % 64 == 63) co_await weft::yield_now();  // let them start and arm
        if (i % (sleepers / cancellers) == 0 && static_cast<int>(killers.size()) < cancellers)
            killers.push_back(weft::spawn(
                cancel_some(std::chrono::milliseconds(1 + rng() % 8), &targets, &cancelled, rng(), cancels_each)));
    }
    for (auto& killer : killers) co_await killer;
    Storm out;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        int result = 1;  // cancelled before it started: never ran, ended cancelled
        try {
            result = co_await targets[i];
        } catch (const weft::CancelledError&) {
        }
        out.cancels_true += cancelled[i];
        out.sleeps_raised += result;
        if ((result == 1) != (cancelled[i] != 0)) ++out.mismatches;
    }
    co_return out;
}

}  // namespace

TEST_CASE("a sleeper cancelled after its timer fired, before it ran, ends with CancelledError", "[timers][cancel]") {
    Race out = weft::run(timer_fired_then_cancelled(), test::paused_clock());
    REQUIRE(out.cancel_returned_true);  // (the order this test is built on)
    CHECK(out.sleeper_result == 1);
}

TEST_CASE("cancellation storm on sleepers: every cancel() that returned true ends its sleep", "[timers][cancel]") {
    const int sleepers = test::scaled(200'000, 20'000);
    Storm out = weft::run(storm(sleepers, sleepers / 100, 20), test::paused_clock());
    CHECK(out.cancels_true > 0);
    CHECK(out.mismatches == 0);
    CHECK(out.sleeps_raised == out.cancels_true);
}
