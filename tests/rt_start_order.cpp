// gather, when_all, wait and TaskGroup start their members in argument order, as asyncio
// does (its ready queue is first-in first-out). A bare loop of spawn() calls may start
// newest first (the fork-join fast path); wait() puts such a loop's tasks back in order
// (those still queued on its worker: up to half a local queue, LocalQueue::kCapacity / 2).
//
// Exact on one worker, and on two while the other worker is held busy (nothing can steal).
// With an idle second worker the members run in parallel, so their starts may interleave:
// there each member must start exactly once.
#include <catch2/catch.hpp>

#include <weft/detail/local_queue.hpp>
#include <weft/gather.hpp>
#include <weft/task_group.hpp>
#include <weft/wait.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>
#include <thread>
#include <tuple>
#include <vector>

#include "support/scaled.hpp"

namespace {

// Each member's index, in the order their bodies began.
struct Starts {
    std::mutex mutex;
    std::vector<int> order;
    void record(int index) {
        std::lock_guard lock(mutex);
        order.push_back(index);
    }
};

weft::Task<int> member(Starts* starts, int index) {
    starts->record(index);
    co_return index;
}

enum class Kind {
    gather_tuple,
    gather_vector,
    gather_collect,
    when_all_tuple,
    when_all_vector,
    wait,
    group_run,
    group_wait
};

constexpr int kTuple = 6;  // members of the tuple forms

// The longest bare spawn loop that wait() can put back in order: half a local queue (the
// other half spills to the injection queue when it fills). 128; 8 in the check build.
constexpr int kSpawnLoopInOrder = static_cast<int>(weft::detail::LocalQueue::kCapacity / 2);

std::vector<weft::Task<int>> members(Starts* starts, int count) {
    std::vector<weft::Task<int>> tasks;
    for (int i = 0; i < count; ++i) tasks.push_back(member(starts, i));
    return tasks;
}

weft::Task<void> group_body(weft::TaskGroup& group, Starts* starts, int count) {
    for (int i = 0; i < count; ++i) group.spawn(member(starts, i)).detach();  // in a row
    co_return;
}

// Runs `kind` over `count` members (kTuple for the tuple forms); returns how many it started.
weft::Task<int> scenario(Kind kind, Starts* starts, int count) {
    switch (kind) {
        case Kind::gather_tuple: {
            auto values = co_await weft::gather(member(starts, 0), member(starts, 1), member(starts, 2),
                                                member(starts, 3), member(starts, 4), member(starts, 5));
            co_return std::get<5>(values) == 5 ? kTuple : -1;
        }
        case Kind::when_all_tuple: {
            auto values = co_await weft::when_all(member(starts, 0), member(starts, 1), member(starts, 2),
                                                  member(starts, 3), member(starts, 4), member(starts, 5));
            co_return std::get<0>(values) == 0 ? kTuple : -1;
        }
        case Kind::gather_vector: {
            auto values = co_await weft::gather(members(starts, count));
            co_return static_cast<int>(values.size());
        }
        case Kind::gather_collect: {
            auto outcomes = co_await weft::gather(weft::return_exceptions, members(starts, count));
            co_return static_cast<int>(outcomes.size());
        }
        case Kind::when_all_vector: {
            auto values = co_await weft::when_all(members(starts, count));
            co_return static_cast<int>(values.size());
        }
        case Kind::wait: {
            std::vector<weft::JoinHandle<int>> handles;
            for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(member(starts, i)));
            auto result = co_await weft::wait(handles);
            co_return static_cast<int>(result.done.size());
        }
        case Kind::group_run: {
            co_await weft::TaskGroup::run(
                [starts, count](weft::TaskGroup& group) { return group_body(group, starts, count); });
            co_return count;
        }
        case Kind::group_wait: {
            weft::TaskGroup group;
            for (int i = 0; i < count; ++i) group.spawn(member(starts, i)).detach();
            co_await group.wait();
            co_return count;
        }
    }
    co_return -1;
}

std::vector<int> iota(int count) {
    std::vector<int> expected(static_cast<std::size_t>(count));
    std::iota(expected.begin(), expected.end(), 0);
    return expected;
}

const auto kAllKinds = {Kind::gather_tuple,    Kind::gather_vector, Kind::gather_collect, Kind::when_all_tuple,
                        Kind::when_all_vector, Kind::wait,          Kind::group_run,      Kind::group_wait};

// Holds one worker in a loop that never suspends until released.
struct Hold {
    std::atomic<bool> holding{false};
    std::atomic<bool> release{false};
};

weft::Task<void> hold_a_worker(Hold* hold) {
    hold->holding.store(true);
    while (!hold->release.load()) std::this_thread::yield();
    co_return;
}

}  // namespace

TEST_CASE("gather, when_all, wait and TaskGroup start their members in argument order (one worker)", "[start_order]") {
    // Beyond one local queue's worth (256; 16 in the check build), too: spills and refills
    // must keep the order.
    const int count = GENERATE(2, 40, 300);
    const int rounds = test::scaled(200, 20);
    weft::Runtime runtime({.workers = 1});
    for (Kind kind : kAllKinds) {
        if (kind == Kind::wait && count > kSpawnLoopInOrder) continue;  // a spawn loop that overflowed its queue
        for (int round = 0; round < rounds; ++round) {
            Starts starts;
            int started = weft::block_on(runtime, scenario(kind, &starts, count));
            CAPTURE(static_cast<int>(kind), count, round);
            REQUIRE(started == static_cast<int>(starts.order.size()));
            REQUIRE(starts.order == iota(started));
        }
    }
}

TEST_CASE("members start in argument order on two workers while the other one is busy", "[start_order]") {
    const int count = GENERATE(2, 40);
    const int rounds = test::scaled(100, 10);
    Hold hold;  // outlives the runtime, whose shutdown the holder may still be leaving
    weft::Runtime runtime({.workers = 2});
    auto holder = runtime.spawn(hold_a_worker(&hold));
    struct ReleaseOnExit {  // a failed REQUIRE must not leave the runtime's shutdown waiting on the holder
        Hold* hold;
        ~ReleaseOnExit() { hold->release.store(true); }
    } release_on_exit{&hold};
    while (!hold.holding.load()) std::this_thread::yield();
    for (Kind kind : kAllKinds) {
        if (kind == Kind::wait && count > kSpawnLoopInOrder) continue;
        for (int round = 0; round < rounds; ++round) {
            Starts starts;
            int started = weft::block_on(runtime, scenario(kind, &starts, count));
            CAPTURE(static_cast<int>(kind), count, round);
            REQUIRE(starts.order == iota(started));
        }
    }
    hold.release.store(true);
    holder.detach();
}

TEST_CASE("on two idle workers every member starts exactly once", "[start_order]") {
    const int count = GENERATE(2, 40, 300);
    const int rounds = test::scaled(100, 10);
    weft::Runtime runtime({.workers = 2});
    for (Kind kind : kAllKinds) {
        for (int round = 0; round < rounds; ++round) {
            Starts starts;
            int started = weft::block_on(runtime, scenario(kind, &starts, count));
            CAPTURE(static_cast<int>(kind), count, round);
            std::sort(starts.order.begin(), starts.order.end());
            REQUIRE(starts.order == iota(started));
        }
    }
}
