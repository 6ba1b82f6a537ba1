// weft::current_task(): the id and name of the spawned task running the calling code,
// including inside nested co_awaits, whichever way the task was started or joined;
// UsageError outside a task.
#include <catch2/catch.hpp>

#include <weft/current_task.hpp>
#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <cstdint>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/scaled.hpp"

namespace {

struct Identity {
    std::uint64_t id = 0;
    std::string name;
    bool operator==(const Identity&) const = default;
    friend std::ostream& operator<<(std::ostream& out, const Identity& identity) {
        return out << "task " << identity.id << " '" << identity.name << "'";
    }
};

Identity identity_now() {
    weft::TaskInfo info = weft::current_task();
    return {info.id, std::string(info.name)};
}

weft::Task<Identity> whoami() { co_return identity_now(); }

// Nested coroutines are part of the task that awaits them: same id, same name.
weft::Task<Identity> whoami_nested(int depth) {
    if (depth == 0) {
        co_await weft::yield_now();
        co_return identity_now();
    }
    co_return co_await whoami_nested(depth - 1);
}

struct Checks {
    Identity handle, reported;
};

// Awaited at once (the child may not have started yet) or after it ran on its own.
weft::Task<std::vector<Checks>> spawn_and_compare(bool let_it_run_first) {
    std::vector<Checks> out;
    for (int i = 0; i < 20; ++i) {
        std::string name = "worker-" + std::to_string(i);
        auto handle = i % 2 ? weft::spawn(whoami(), name) : weft::spawn(whoami_nested(3), name);
        Identity expected{handle.id(), std::string(handle.name())};
        if (let_it_run_first) co_await weft::yield_now();
        // Not `out.push_back({expected, co_await handle})`: g++ 12 miscompiles a co_await
        // inside a braced initializer (the string ends up pointing into a freed frame).
        Identity reported = co_await handle;
        out.push_back({expected, reported});
    }
    co_return out;
}

weft::Task<std::pair<Identity, Identity>> parent_and_nested() {
    Identity before = identity_now();
    Identity nested = co_await whoami_nested(5);
    co_return std::pair{before, nested};
}

weft::Task<std::uint64_t> own_id() { co_return weft::current_task().id(); }

weft::Task<std::set<std::uint64_t>> many_ids(int count) {
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(own_id()));
    std::set<std::uint64_t> ids;
    for (auto& handle : handles) ids.insert(co_await handle);
    co_return ids;
}

// The spawner asks each handle for its id while the task, perhaps already running on the
// other worker, asks for its own: the first to ask gives it one, and both see that one.
weft::Task<std::vector<std::pair<std::uint64_t, std::uint64_t>>> ids_asked_from_both_sides(int count) {
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    std::vector<std::uint64_t> seen_by_spawner;
    for (int i = 0; i < count; ++i) {
        handles.push_back(weft::spawn(own_id()));
        seen_by_spawner.push_back(handles.back().id());
    }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> pairs;
    for (int i = 0; i < count; ++i) pairs.emplace_back(seen_by_spawner[i], co_await handles[i]);
    co_return pairs;
}

}  // namespace

TEST_CASE("a task's id is the same whether it or its spawner asked first", "[current_task]") {
    const int count = test::scaled(20'000, 5'000);
    auto pairs = weft::run(ids_asked_from_both_sides(count), {.workers = 2});
    std::set<std::uint64_t> distinct;
    for (auto [spawner, task] : pairs) {
        REQUIRE(spawner != 0);
        REQUIRE(spawner == task);
        distinct.insert(task);
    }
    REQUIRE(distinct.size() == static_cast<std::size_t>(count));
}

TEST_CASE("current_task() names the spawned task, also in nested coroutines", "[current_task]") {
    const bool let_it_run_first = GENERATE(false, true);
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(let_it_run_first, workers);
    auto checks = weft::run(spawn_and_compare(let_it_run_first), {.workers = workers});
    REQUIRE(checks.size() == 20);
    for (const auto& check : checks) {
        CAPTURE(check.handle.id, check.handle.name);
        REQUIRE(check.handle.id != 0);
        REQUIRE(check.reported == check.handle);
    }
}

TEST_CASE("a nested co_await runs as part of the awaiting task", "[current_task]") {
    auto [parent, nested] = weft::run(parent_and_nested(), {.workers = 1});
    REQUIRE(parent.id != 0);
    REQUIRE(nested == parent);
}

TEST_CASE("concurrent tasks have distinct ids", "[current_task]") {
    const int count = test::scaled(20'000, 5'000);
    auto ids = weft::run(many_ids(count), {.workers = 4});
    REQUIRE(ids.size() == static_cast<std::size_t>(count));
    REQUIRE(ids.count(0) == 0);
}

TEST_CASE("current_task() outside a weft task throws UsageError", "[current_task][usage]") {
    REQUIRE_THROWS_AS(weft::current_task(), weft::UsageError);
    bool refused_on_plain_thread = false;
    std::thread other([&] {
        try {
            (void)weft::current_task();
        } catch (const weft::UsageError&) {
            refused_on_plain_thread = true;
        }
    });
    other.join();
    REQUIRE(refused_on_plain_thread);
}
