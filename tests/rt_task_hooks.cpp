// weft::ext::TaskHooks (ext/task_hooks.hpp): with WEFT_HOOKS (the `check` preset), every task
// is reported spawned once (before anything else of it, with its spawn location), finished
// once, and each worker resume is paired with a suspend or the finish; per-worker counters
// count resumes. Without WEFT_HOOKS, installing hooks is refused with UsageError.
#include <catch2/catch.hpp>

#include <weft/ext/task_hooks.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

using namespace std::chrono_literals;

namespace {

#if WEFT_HOOKS

// What the hooks saw, per task (keyed by address: ids are given out on first ask).
struct Seen {
    std::mutex mutex;
    struct Task {
        int spawned = 0;
        int finished = 0;
        long running = 0;  // resumes minus suspends
        int events_before_spawn = 0;
        std::string file;
        std::string name;
    };
    std::unordered_map<const void*, Task> tasks;
    std::atomic<long> resumes{0};
};
Seen* seen = nullptr;

Seen::Task& entry(weft::ext::TaskRef task) { return seen->tasks[task.address()]; }

const weft::ext::TaskHooks kHooks{
    .spawned =
        [](weft::ext::TaskRef task, std::string_view name, const std::source_location& where) {
            std::lock_guard lock(seen->mutex);
            auto& t = entry(task);
            // A frame address can be reused once the task is gone: a fresh task starts over.
            if (t.finished == t.spawned) t = Seen::Task{};
            ++t.spawned;
            t.file = where.file_name();
            t.name = name;
        },
    .resumed =
        [](weft::ext::TaskRef task, unsigned) {
            seen->resumes.fetch_add(1);
            std::lock_guard lock(seen->mutex);
            auto& t = entry(task);
            if (t.spawned == t.finished) ++t.events_before_spawn;
            ++t.running;
        },
    .suspended =
        [](weft::ext::TaskRef task, unsigned) {
            std::lock_guard lock(seen->mutex);
            --entry(task).running;
        },
    .finished =
        [](weft::ext::TaskRef task) {
            std::lock_guard lock(seen->mutex);
            auto& t = entry(task);
            if (t.spawned == t.finished) ++t.events_before_spawn;
            ++t.finished;
            t.running = 0;  // a finish ends the resume it happened in
        },
};

weft::Task<int> leaf(int i) {
    if (i % 3 == 0) co_await weft::sleep(1ms);
    if (i % 3 == 1) co_await weft::yield_now();
    co_return i;
}

weft::Task<long> spawn_many(int count) {
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(leaf(i), i % 2 ? "odd" : ""));
    long sum = 0;
    for (auto& handle : handles) sum += co_await handle;
    weft::TaskGroup group;
    for (int i = 0; i < 10; ++i) group.spawn(leaf(i)).detach();
    co_await group.wait();
    co_return sum;
}

#endif

}  // namespace

#if WEFT_HOOKS

TEST_CASE("task hooks: every task is spawned once, then finished once, with its spawn location", "[runtime][hooks]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    Seen record;
    seen = &record;
    weft::ext::set_task_hooks(&kHooks);
    constexpr int kCount = 300;
    long sum = 0;
    std::vector<weft::ext::WorkerCounters> counters;
    {
        weft::Runtime runtime({.workers = workers});
        sum = weft::block_on(runtime, spawn_many(kCount));
        counters = weft::ext::worker_counters(runtime);
    }
    weft::ext::set_task_hooks(nullptr);
    CHECK(sum == static_cast<long>(kCount) * (kCount - 1) / 2);
    int tasks = 0, from_here = 0, odd_named = 0;
    for (auto& [address, t] : record.tasks) {
        CHECK(t.spawned == t.finished);
        CHECK(t.events_before_spawn == 0);
        CHECK(t.running == 0);
        tasks += t.spawned;
        if (t.file.find("rt_task_hooks.cpp") != std::string::npos) ++from_here;
        if (t.name == "odd") ++odd_named;
    }
    CHECK(tasks == kCount + 10 + 1);    // the leaves, the group's members, block_on's root task
    CHECK(from_here == kCount + 10);  // spawn() and TaskGroup::spawn() located here
    CHECK(odd_named == kCount / 2);
    std::uint64_t resumes = 0;
    for (auto& c : counters) resumes += c.resumes;
    CHECK(resumes == static_cast<std::uint64_t>(record.resumes.load()));
}

#else

TEST_CASE("task hooks: without WEFT_HOOKS installing them is refused", "[runtime][hooks]") {
    weft::ext::TaskHooks hooks{};
    CHECK_THROWS_AS(weft::ext::set_task_hooks(&hooks), weft::UsageError);
    CHECK_NOTHROW(weft::ext::set_task_hooks(nullptr));
}

#endif
