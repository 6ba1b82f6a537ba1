// Shutting a runtime down while tasks are still queued, suspended or joining: every task's
// frame is destroyed exactly once, whether it ran to the end, unwound from the shutdown's
// cancellation, or never started. (ASan/LSan builds check that nothing else leaks.) The
// cancellation itself and the cleanup it lets run: rt_shutdown_cancel.cpp.
#include <catch2/catch.hpp>

#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <latch>
#include <memory>
#include <semaphore>
#include <thread>
#include <utility>
#include <vector>

#include "support/counted.hpp"
#include "support/scaled.hpp"

namespace {

enum Progress : int { kUnrun = 0, kStarted = 1, kFinished = 2 };

// Per task: how far its body got and how many times each of its guards was destroyed.
struct Ledger {
    explicit Ledger(int tasks) : progress(tasks), frame_guard(tasks), body_guard(tasks) {}
    std::vector<std::atomic<int>> progress, frame_guard, body_guard;

    int count(Progress p) const {
        int n = 0;
        for (const auto& value : progress) n += value.load() == p;
        return n;
    }
};

// Destroyed exactly once per task, wherever the frame dies; moved-from copies don't count.
class Guard {
public:
    Guard(std::vector<std::atomic<int>>* slots, int index) noexcept : slots_(slots), index_(index) {}
    Guard(Guard&& other) noexcept : slots_(other.slots_), index_(std::exchange(other.index_, -1)) {}
    Guard& operator=(Guard&&) = delete;
    ~Guard() {
        if (index_ >= 0) (*slots_)[static_cast<std::size_t>(index_)].fetch_add(1);
    }

private:
    std::vector<std::atomic<int>>* slots_;
    int index_;
};

weft::Task<void> child(Guard /*frame_guard*/, Ledger* ledger, int index) {
    Guard body_guard(&ledger->body_guard, index);
    ledger->progress[static_cast<std::size_t>(index)] = kStarted;
    co_await weft::yield_now();
    ledger->progress[static_cast<std::size_t>(index)] = kFinished;
}

// A child that first joins another child: at shutdown it may be suspended on that join.
weft::Task<void> joining_child(Guard /*frame_guard*/, Ledger* ledger, int index, weft::JoinHandle<void> other) {
    Guard body_guard(&ledger->body_guard, index);
    ledger->progress[static_cast<std::size_t>(index)] = kStarted;
    co_await other;
    ledger->progress[static_cast<std::size_t>(index)] = kFinished;
}

weft::JoinHandle<void> spawn_child(Ledger* ledger, int index) {
    return weft::spawn(child(Guard(&ledger->frame_guard, index), ledger, index));
}

// Spawns `tasks` children (every other one joining its predecessor) and returns at once.
weft::Task<void> spawn_and_leave(Ledger* ledger, int tasks) {
    for (int i = 0; i + 1 < tasks; i += 2) {
        auto first = spawn_child(ledger, i);
        weft::spawn(joining_child(Guard(&ledger->frame_guard, i + 1), ledger, i + 1, std::move(first))).detach();
    }
    co_return;
}

void require_each_destroyed_once(const Ledger& ledger, int tasks) {
    for (int i = 0; i < tasks; ++i) {
        const auto k = static_cast<std::size_t>(i);
        CAPTURE(i, ledger.progress[k].load());
        REQUIRE(ledger.frame_guard[k].load() == 1);
        // The body's guard exists only if the body started.
        REQUIRE(ledger.body_guard[k].load() == (ledger.progress[k].load() == kUnrun ? 0 : 1));
    }
}

weft::Task<void> probe(test::Counted) { co_return; }

// Holds its worker until shutdown has begun: spawning fails with RuntimeShutDown once
// the runtime is stopping. Each failed attempt frees its probe; the others stay queued.
weft::Task<void> hold_worker_until_shutdown(test::LifeCounter* probes) {
    for (;;) {
        try {
            weft::spawn(probe(test::Counted(*probes))).detach();
        } catch (const weft::RuntimeShutDown&) {
            co_return;
        }
        std::this_thread::yield();
    }
}

weft::Task<void> blocker(std::latch* all_blocked, test::LifeCounter* probes) {
    all_blocked->arrive_and_wait();
    co_await hold_worker_until_shutdown(probes);
}

// Occupies every worker, then queues the children where no worker will ever take them.
weft::Task<void> block_all_then_spawn(unsigned workers, Ledger* ledger, int tasks, std::latch* all_blocked,
                                      std::binary_semaphore* spawned, test::LifeCounter* probes) {
    std::vector<weft::JoinHandle<void>> blockers;
    for (unsigned w = 1; w < workers; ++w) blockers.push_back(weft::spawn(blocker(all_blocked, probes)));
    all_blocked->arrive_and_wait();  // every worker is now inside one of these tasks
    co_await spawn_and_leave(ledger, tasks);
    spawned->release();
    co_await hold_worker_until_shutdown(probes);
}

// A parent joining a child, both suspended (the child yields forever) when the runtime
// shuts down: both frames must be destroyed, however the join was carried out.
weft::Task<void> yield_forever(test::Counted, std::binary_semaphore* running) {
    running->release();
    for (;;) co_await weft::yield_now();
}

weft::Task<void> join_forever(test::Counted guard, std::binary_semaphore* running) {
    co_await weft::spawn(yield_forever(guard, running));
}

}  // namespace

TEST_CASE("shutdown destroys queued tasks that never ran, each exactly once", "[runtime][shutdown]") {
    const unsigned workers = GENERATE(1u, 4u);
    const int tasks = test::scaled(10'000, 5'000);
    CAPTURE(workers);
    Ledger ledger(tasks);
    test::LifeCounter probes;
    std::latch all_blocked(workers);
    std::binary_semaphore spawned(0);
    {
        // The blockers never suspend, so the shutdown's cancellation cannot reach them: they
        // hold their workers until spawns are refused, which is after the grace period.
        weft::Runtime runtime({.workers = workers, .shutdown_grace = std::chrono::milliseconds(0)});
        runtime.spawn(block_all_then_spawn(workers, &ledger, tasks, &all_blocked, &spawned, &probes)).detach();
        spawned.acquire();
        runtime.shutdown();  // the blocked workers see RuntimeShutDown, return, and stop
    }
    REQUIRE(ledger.count(kUnrun) == tasks);
    require_each_destroyed_once(ledger, tasks);
    REQUIRE(probes.live() == 0);
}

TEST_CASE("shutdown while tasks run, wait and queue destroys every frame exactly once", "[runtime][shutdown]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const int tasks = test::scaled(10'000, 5'000);
    CAPTURE(workers);
    for (int round = 0; round < 5; ++round) {
        Ledger ledger(tasks);
        // The root returns without awaiting; weft::run then destroys the runtime, racing
        // the workers through the children.
        weft::run(spawn_and_leave(&ledger, tasks), {.workers = workers});
        CAPTURE(round, ledger.count(kUnrun), ledger.count(kStarted), ledger.count(kFinished));
        REQUIRE(ledger.count(kUnrun) + ledger.count(kStarted) + ledger.count(kFinished) == tasks);
        require_each_destroyed_once(ledger, tasks);
    }
}

TEST_CASE("shutdown with tasks spawned from a plain thread still queued", "[runtime][shutdown]") {
    const int tasks = test::scaled(10'000, 5'000);
    for (int round = 0; round < 5; ++round) {
        Ledger ledger(tasks);
        {
            weft::Runtime runtime({.workers = 2});
            for (int i = 0; i < tasks; ++i) runtime.spawn(child(Guard(&ledger.frame_guard, i), &ledger, i)).detach();
        }
        REQUIRE(ledger.count(kUnrun) + ledger.count(kStarted) + ledger.count(kFinished) == tasks);
        require_each_destroyed_once(ledger, tasks);
    }
}

TEST_CASE("shutdown destroys a suspended task and the suspended child it joins", "[runtime][shutdown]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    test::LifeCounter counter;
    {
        std::binary_semaphore running(0);
        weft::Runtime runtime({.workers = workers});
        runtime.spawn(join_forever(test::Counted(counter), &running)).detach();
        running.acquire();  // the child runs; the parent waits for it
        runtime.shutdown();
    }
    REQUIRE(counter.live() == 0);
}
