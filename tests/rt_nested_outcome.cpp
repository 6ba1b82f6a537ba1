// A Task awaited as a nested call, and a spawned child taken back by `co_await std::move(h)`
// and run inline, hand their outcome to the awaiter and free their own frame as they return
// (task.hpp, NestedOutcome). These check every way such a child can end: at once, after
// suspending inside its awaiter, and past the nested-run bound (by transfer, the frame then
// freed by the awaiter); with a value, a move-only value, void and an exception. A tracked
// parameter in every frame counts the frames still alive: none may leak or die twice.
#include <catch2/catch.hpp>

#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Lives in a coroutine frame as a parameter: `live` counts the frames not yet destroyed.
struct Tracked {
    std::atomic<int>* live;
    explicit Tracked(std::atomic<int>* l) : live(l) { live->fetch_add(1, std::memory_order_relaxed); }
    Tracked(const Tracked& other) : live(other.live) { live->fetch_add(1, std::memory_order_relaxed); }
    Tracked& operator=(const Tracked&) = delete;
    ~Tracked() { live->fetch_sub(1, std::memory_order_relaxed); }
};

struct Failure : std::runtime_error {
    explicit Failure(std::uint64_t at) : std::runtime_error("failed at " + std::to_string(at)), depth(at) {}
    std::uint64_t depth;
};

// How a child ends: `suspend` yields first (it then finishes after its awaiter suspended);
// at depth 0 it returns `depth`-dependent values or throws.
weft::Task<std::unique_ptr<std::uint64_t>> leaf(Tracked, std::uint64_t value, bool suspend, bool fail) {
    if (suspend) co_await weft::yield_now();
    if (fail) throw Failure(value);
    co_return std::make_unique<std::uint64_t>(value);
}

// A chain of `depth` nested awaits (deeper than the nested-run bound when depth > 128).
weft::Task<std::unique_ptr<std::uint64_t>> nested_chain(Tracked tracked, std::uint64_t depth, bool suspend, bool fail) {
    if (depth == 0) co_return co_await leaf(tracked, 1, suspend, fail);
    std::unique_ptr<std::uint64_t> below = co_await nested_chain(tracked, depth - 1, suspend, fail);
    *below += depth;
    co_return below;
}

// The same chain, each level spawning the next and taking it back at once (an inline join).
weft::Task<std::unique_ptr<std::uint64_t>> joined_chain(Tracked tracked, std::uint64_t depth, bool suspend, bool fail) {
    if (depth == 0) co_return co_await weft::spawn(leaf(tracked, 1, suspend, fail));
    auto child = weft::spawn(joined_chain(tracked, depth - 1, suspend, fail));
    std::unique_ptr<std::uint64_t> below = co_await std::move(child);
    *below += depth;
    co_return below;
}

weft::Task<void> void_child(Tracked, int* ran, bool suspend) {
    if (suspend) co_await weft::yield_now();
    ++*ran;
}

std::uint64_t chain_sum(std::uint64_t depth) { return 1 + depth * (depth + 1) / 2; }

}  // namespace

TEST_CASE("nested awaits hand their value or exception to the awaiter, at once, after suspending, past the bound",
          "[task][nested]") {
    for (std::uint64_t depth : {0, 1, 5, 300}) {
        for (bool suspend : {false, true}) {
            std::atomic<int> live{0};
            std::uint64_t got =
                weft::run([](std::atomic<int>* live, std::uint64_t depth, bool suspend) -> weft::Task<std::uint64_t> {
                    auto value = co_await nested_chain(Tracked(live), depth, suspend, false);
                    co_return *value;
                }(&live, depth, suspend));
            CHECK(got == chain_sum(depth));
            CHECK(live.load() == 0);

            std::uint64_t failed_at =
                weft::run([](std::atomic<int>* live, std::uint64_t depth, bool suspend) -> weft::Task<std::uint64_t> {
                    try {
                        co_await nested_chain(Tracked(live), depth, suspend, true);
                    } catch (const Failure& e) {
                        co_return e.depth;
                    }
                    co_return 0;
                }(&live, depth, suspend));
            CHECK(failed_at == 1);
            CHECK(live.load() == 0);
        }
    }
}

TEST_CASE("children taken back by co_await std::move(handle) and run inline hand over their outcome",
          "[join_handle][inline][nested]") {
    for (std::uint64_t depth : {0, 1, 5, 300}) {
        for (bool suspend : {false, true}) {
            std::atomic<int> live{0};
            std::uint64_t got = weft::run(
                [](std::atomic<int>* live, std::uint64_t depth, bool suspend) -> weft::Task<std::uint64_t> {
                    auto value = co_await joined_chain(Tracked(live), depth, suspend, false);
                    co_return *value;
                }(&live, depth, suspend),
                weft::RuntimeOptions{.workers = 1});
            CHECK(got == chain_sum(depth));
            CHECK(live.load() == 0);

            std::uint64_t failed_at = weft::run(
                [](std::atomic<int>* live, std::uint64_t depth, bool suspend) -> weft::Task<std::uint64_t> {
                    try {
                        co_await joined_chain(Tracked(live), depth, suspend, true);
                    } catch (const Failure& e) {
                        co_return e.depth;
                    }
                    co_return 0;
                }(&live, depth, suspend),
                weft::RuntimeOptions{.workers = 1});
            CHECK(failed_at == 1);
            CHECK(live.load() == 0);
        }
    }
}

TEST_CASE("void children, nested and joined inline, run once each and free their frames",
          "[task][join_handle][nested]") {
    for (bool suspend : {false, true}) {
        std::atomic<int> live{0};
        int ran = weft::run([](std::atomic<int>* live, bool suspend) -> weft::Task<int> {
            int ran = 0;
            for (int i = 0; i < 100; ++i) {
                co_await void_child(Tracked(live), &ran, suspend);
                co_await weft::spawn(void_child(Tracked(live), &ran, suspend));
            }
            co_return ran;
        }(&live, suspend));
        CHECK(ran == 200);
        CHECK(live.load() == 0);
    }
}

TEST_CASE("on two workers, joined chains whose children are stolen or run inline lose and leak nothing",
          "[join_handle][inline][nested]") {
    std::atomic<int> live{0};
    constexpr int kChains = 64;
    constexpr std::uint64_t kDepth = 40;
    for (int round = 0; round < 20; ++round) {
        std::uint64_t sum = weft::run(
            [](std::atomic<int>* live, int round) -> weft::Task<std::uint64_t> {
                std::vector<weft::JoinHandle<std::unique_ptr<std::uint64_t>>> chains;
                for (int i = 0; i < kChains; ++i)
                    chains.push_back(weft::spawn(joined_chain(Tracked(live), kDepth, (i + round) % 3 == 0, false)));
                std::uint64_t sum = 0;
                for (auto& chain : chains) sum += *co_await std::move(chain);
                co_return sum;
            }(&live, round),
            weft::RuntimeOptions{.workers = 2});
        REQUIRE(sum == kChains * chain_sum(kDepth));
        REQUIRE(live.load() == 0);
    }
}
