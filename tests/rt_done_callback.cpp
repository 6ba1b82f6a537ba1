// JoinHandle::add_done_callback (asyncio's Task.add_done_callback): each callback called
// exactly once with the task's outcome, whether added before or after the end, with the
// handle kept, dropped, detached or dropped from inside the callback; and a race of adds
// against completion on several workers.
#include <catch2/catch.hpp>

#include <weft/done_callback.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/log_capture.hpp"
#include "support/scaled.hpp"

namespace {

weft::Task<int> value_after_yields(int value, int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield_now();
    co_return value;
}

weft::Task<int> fail_after_yields(int yields) {
    for (int i = 0; i < yields; ++i) co_await weft::yield_now();
    throw std::runtime_error("failed");
}

weft::Task<int> forever() {
    for (;;) co_await weft::yield_now();
}

struct Seen {
    std::vector<std::string> calls;  // one worker: no lock needed
    bool ran_inside_add = false;
    bool inside_add = false;
};

// Before the end (three callbacks, in order), after the end (scheduled, never inside the add).
weft::Task<Seen> before_and_after() {
    Seen seen;
    auto h = weft::spawn(value_after_yields(1, 2), "worker-1");
    auto id = h.id();
    h.add_done_callback([&seen, id](const weft::FinishedTask& t) {
        seen.calls.push_back("a:" + std::to_string(t.id() == id) + std::string(t.name()) +
                             (t.exception() ? ":failed" : ":ok"));
    });
    h.add_done_callback([&seen] { seen.calls.push_back("b"); });
    h.add_done_callback([&seen](const weft::FinishedTask&) { seen.calls.push_back("c"); });
    (void)co_await h;
    seen.calls.push_back("joined");
    seen.inside_add = true;
    h.add_done_callback([&seen](const weft::FinishedTask& t) {
        if (seen.inside_add) seen.ran_inside_add = true;
        seen.calls.push_back(std::string("late:") + (t.cancelled() ? "cancelled" : "not-cancelled"));
    });
    seen.inside_add = false;
    co_await weft::yield_now();  // the late callback runs as a task of its own, soon
    co_return seen;
}

struct Outcomes {
    int failed = 0, cancelled = 0, dropped = 0, detached = 0, erased = 0, threw = 0;
    bool registry_empty = false;
};

// Callbacks run on the worker that finished the task: with 2 workers the counts and the
// registry are shared across threads.
struct SharedOutcomes {
    std::atomic<int> failed{0}, cancelled{0}, dropped{0}, detached{0}, erased{0}, threw{0};
};
struct Registry {
    std::mutex mutex;
    std::map<std::uint64_t, weft::JoinHandle<int>> handles;
};

weft::Task<Outcomes> outcomes_and_ownership() {
    auto out = std::make_shared<SharedOutcomes>();
    auto failing = weft::spawn(fail_after_yields(1));
    failing.add_done_callback([out](const weft::FinishedTask& t) {
        if (t.exception() && !t.cancelled()) ++out->failed;
    });
    auto cancelled = weft::spawn(forever());
    cancelled.add_done_callback([out](const weft::FinishedTask& t) {
        if (t.cancelled() && t.exception()) ++out->cancelled;
    });
    {
        auto dropped = weft::spawn(value_after_yields(3, 1));
        dropped.add_done_callback([out] { ++out->dropped; });
    }  // dropped before it ran
    auto detached = weft::spawn(value_after_yields(4, 1));
    detached.add_done_callback([out] { ++out->detached; });
    detached.detach();
    // A registry that drops the handle from inside the callback. The handle is in the registry
    // before its callback is added (under the lock, which the callback takes too), so the
    // callback always finds it, on whichever worker the task ends.
    auto registry = std::make_shared<Registry>();
    for (int i = 0; i < 5; ++i) {
        auto h = weft::spawn(value_after_yields(i, i % 3));
        const auto key = h.id();
        std::lock_guard lock(registry->mutex);
        auto& kept = registry->handles.emplace(key, std::move(h)).first->second;
        kept.add_done_callback([out, registry](const weft::FinishedTask& t) {
            std::lock_guard lock(registry->mutex);
            if (registry->handles.erase(t.id()) == 1) ++out->erased;
        });
    }
    auto throwing = weft::spawn(value_after_yields(5, 0));
    throwing.add_done_callback([out]() { ++out->threw, throw std::runtime_error("callback failed"); });
    co_await weft::yield_now();
    cancelled.cancel();
    try {
        (void)co_await failing;
    } catch (const std::runtime_error&) {
    }
    try {
        (void)co_await cancelled;
    } catch (const weft::CancelledError&) {
    }
    (void)co_await throwing;
    while (out->erased < 5 || out->dropped < 1 || out->detached < 1) co_await weft::yield_now();
    Outcomes seen{out->failed.load(),
                  out->cancelled.load(),
                  out->dropped.load(),
                  out->detached.load(),
                  out->erased.load(),
                  out->threw.load(),
                  false};
    std::lock_guard lock(registry->mutex);
    seen.registry_empty = registry->handles.empty();
    co_return seen;
}

// The race: callbacks added while the task may be finishing on another worker. Each task gets
// one callback before it can end, one at a moment that races its end, and one after its end.
weft::Task<void> race(int count, std::vector<std::atomic<int>>* calls, std::atomic<int>* total) {
    std::vector<weft::JoinHandle<int>> handles;
    handles.reserve(count);
    for (int i = 0; i < count; ++i) {
        auto h = weft::spawn(value_after_yields(i, i % 3));
        h.add_done_callback([calls, total, i] {
            (*calls)[i].fetch_add(1);
            total->fetch_add(1);
        });
        handles.push_back(std::move(h));
        if (i % 2 == 0) co_await weft::yield_now();  // let some run, on this worker or another
        handles.back().add_done_callback([calls, total, i] {
            (*calls)[i].fetch_add(1);
            total->fetch_add(1);
        });
    }
    for (int i = 0; i < count; ++i) {
        (void)co_await handles[i];
        handles[i].add_done_callback([calls, total, i] {
            (*calls)[i].fetch_add(1);
            total->fetch_add(1);
        });
        if (i % 3 == 0) handles[i].detach();  // (the scheduled call holds a copy, not the frame)
    }
    while (total->load() < 3 * count) co_await weft::yield_now();
}

// A Runtime::spawn handle held by a plain thread: a callback added after the end runs there, at once.
int plain_thread_callback() {
    weft::Runtime runtime({.workers = 1});
    auto h = runtime.spawn(value_after_yields(9, 1));
    while (!h.done()) std::this_thread::yield();
    int got = 0;
    std::thread::id ran_on;
    h.add_done_callback([&](const weft::FinishedTask&) {
        got = 9;
        ran_on = std::this_thread::get_id();
    });
    return ran_on == std::this_thread::get_id() ? got : -1;
}

}  // namespace

TEST_CASE("done callbacks: in order at the end, a late one scheduled soon (never inside the add)",
          "[join_handle][done_callback]") {
    Seen seen = weft::run(before_and_after(), {.workers = 1});
    REQUIRE(seen.calls == std::vector<std::string>{"a:1worker-1:ok", "b", "c", "joined", "late:not-cancelled"});
    CHECK_FALSE(seen.ran_inside_add);
}

TEST_CASE("done callbacks see failure and cancellation, the handle may be dropped, detached or erased in them",
          "[join_handle][done_callback]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    test::LogCapture log;
    Outcomes out = weft::run(outcomes_and_ownership(), {.workers = workers});
    CHECK(out.failed == 1);
    CHECK(out.cancelled == 1);
    CHECK(out.dropped == 1);
    CHECK(out.detached == 1);
    CHECK(out.erased == 5);
    CHECK(out.registry_empty);
    CHECK(out.threw == 1);
    auto errors = log.errors();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].text.find("callback failed") != std::string::npos);
}

TEST_CASE("add_done_callback racing the task's end on several workers: every callback exactly once",
          "[join_handle][done_callback]") {
    const unsigned workers = GENERATE(2u, 4u);
    CAPTURE(workers);
    const int count = test::scaled(20'000, 3'000);
    for (int round = 0; round < 5; ++round) {
        std::vector<std::atomic<int>> calls(count);
        std::atomic<int> total{0};
        weft::run(race(count, &calls, &total), {.workers = workers});
        int wrong = 0;
        for (auto& c : calls) wrong += c.load() != 3;
        REQUIRE(wrong == 0);
        REQUIRE(total.load() == 3 * count);
    }
}

TEST_CASE("a done callback added from a plain thread after the end runs on that thread",
          "[join_handle][done_callback]") {
    REQUIRE(plain_thread_callback() == 9);
}
