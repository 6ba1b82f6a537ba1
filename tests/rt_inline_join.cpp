// The fork-join fast path: a child awaited while still unstarted runs inline inside the
// awaiting task, wherever it sits among its queued siblings. Whatever order the handles
// are awaited in, every child runs exactly once, reports its own identity, and leaves the
// awaiting task's identity intact.
#include <catch2/catch.hpp>

#include <weft/current_task.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "support/scaled.hpp"
#include "support/stack_span.hpp"

namespace {

struct Seen {
    std::uint64_t id = 0;
    std::string name;
    std::uint64_t value = 0;
};

weft::Task<Seen> named_child(std::uint64_t value) {
    weft::TaskInfo me = weft::current_task();
    co_return Seen{me.id, std::string(me.name), value};
}

// Spawns `count` named children, awaits them in `order`, and checks each against its handle.
weft::Task<int> await_in_order(std::vector<std::size_t> order) {
    const std::uint64_t parent_id = weft::current_task().id();
    std::vector<weft::JoinHandle<Seen>> children;
    std::vector<std::uint64_t> ids;
    for (std::size_t i = 0; i < order.size(); ++i) {
        children.push_back(weft::spawn(named_child(i), "child-" + std::to_string(i)));
        ids.push_back(children.back().id());
    }
    int wrong = 0;
    for (std::size_t i : order) {
        Seen seen = co_await children[i];
        wrong += seen.value != i || seen.id != ids[i] || seen.name != "child-" + std::to_string(i);
        wrong += weft::current_task().id() != parent_id;  // the parent is itself again
    }
    co_return wrong;
}

// A tree whose nodes await their children in a shuffled order; returns the number of leaves.
weft::Task<std::uint64_t> shuffled_tree(int depth, std::uint32_t seed, std::atomic<std::uint64_t>* runs) {
    runs->fetch_add(1, std::memory_order_relaxed);
    if (depth == 0) co_return 1;
    constexpr std::size_t kFanOut = 6;
    std::vector<weft::JoinHandle<std::uint64_t>> children;
    for (std::size_t i = 0; i < kFanOut; ++i)
        children.push_back(weft::spawn(shuffled_tree(depth - 1, seed * 31 + static_cast<std::uint32_t>(i), runs)));
    std::vector<std::size_t> order(kFanOut);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(seed));
    std::uint64_t leaves = 0;
    for (std::size_t i : order) leaves += co_await children[i];
    co_return leaves;
}

// Spawns its child and awaits it at once: the child, unstarted in this worker's queue, runs
// inline; each level nests in the one above until the nested-call bound, then by transfer.
// `span` (one worker only) records where each level's stack frame is.
weft::Task<std::uint64_t> spawn_chain(std::uint64_t depth, bool suspend, test::StackSpan* span) {
    if (span) span->note();
    if (suspend) co_await weft::yield_now();
    if (depth == 0) co_return 0;
    auto child = weft::spawn(spawn_chain(depth - 1, suspend, span));
    std::uint64_t below = co_await child;
    if (suspend) co_await weft::yield_now();
    co_return below + depth;
}

weft::Task<std::uint64_t> many_spawn_chains(int chains, std::uint64_t depth, bool suspend) {
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    for (int i = 0; i < chains; ++i) handles.push_back(weft::spawn(spawn_chain(depth, suspend, nullptr)));
    std::uint64_t sum = 0;
    for (auto& handle : handles) sum += co_await handle;
    co_return sum;
}

}  // namespace

TEST_CASE("a spawn-and-await chain deeper than the nested-run bound keeps a bounded stack",
          "[join_handle][inline][stack]") {
    const std::uint64_t depth = test::scaled<std::uint64_t>(100'000, 5'000);
    test::StackSpan span;
    REQUIRE(weft::run(spawn_chain(depth, false, &span), {.workers = 1}) == depth * (depth + 1) / 2);
    INFO("stack used across " << depth << " levels: " << span.width() << " bytes");
    REQUIRE(span.width() < test::kStackSlack);
}

TEST_CASE("children that suspend while running inline resume their awaiters when they finish",
          "[join_handle][inline]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    // Past the nested-call bound, so children started both ways suspend inside their awaiters.
    const std::uint64_t depth = 1'000;
    const int chains = test::scaled(40, 8);
    const std::uint64_t expected = chains * (depth * (depth + 1) / 2);
    REQUIRE(weft::run(many_spawn_chains(chains, depth, true), {.workers = workers}) == expected);
}

TEST_CASE("children awaited in any order each run once, as themselves", "[join_handle][inline]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    std::vector<std::size_t> order(12);
    std::iota(order.begin(), order.end(), 0);
    SECTION("spawn order (the oldest first: inline from the middle of the queue)") {}
    SECTION("reverse order (the newest first)") { std::reverse(order.begin(), order.end()); }
    SECTION("shuffled") { std::shuffle(order.begin(), order.end(), std::mt19937(7)); }
    REQUIRE(weft::run(await_in_order(order), {.workers = workers}) == 0);
}

TEST_CASE("a fork-join tree awaited in shuffled orders runs every node exactly once", "[join_handle][inline]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    const int depth = test::scaled(6, 4);  // 6^6 leaves
    CAPTURE(workers);
    std::uint64_t expected_leaves = 1, expected_nodes = 1;  // per level: 6 times the last
    for (int d = 0; d < depth; ++d) {
        expected_leaves *= 6;
        expected_nodes += expected_leaves;
    }
    for (std::uint32_t round = 0; round < 3; ++round) {
        std::atomic<std::uint64_t> runs{0};
        REQUIRE(weft::run(shuffled_tree(depth, round + 1, &runs), {.workers = workers}) == expected_leaves);
        REQUIRE(runs.load() == expected_nodes);
    }
}
