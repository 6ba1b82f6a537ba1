// The blocking pool's elasticity, observed through its counters (white-box: the test polls
// them, it never sleeps): it grows on demand to its cap, an idle thread takes the next call
// instead of a new one starting, and a thread idle for the keep-alive retires.
#include <catch2/catch.hpp>

#include <weft/weft.hpp>

#include <chrono>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include "executor_bridge.hpp"
#include "runtime_core.hpp"

using namespace std::chrono_literals;

namespace {

weft::detail::BlockingPool::Stats stats(weft::Runtime& rt) { return rt.core().bridge().blocking_pool_stats(); }

template <class Predicate>
void poll_until(weft::Runtime& rt, Predicate done) {
    while (!done(stats(rt))) std::this_thread::yield();
}

// Which call this is on its pool thread: 1 on a fresh thread.
int calls_on_this_thread() {
    thread_local int calls = 0;
    return ++calls;
}

weft::Task<int> offload_count() { co_return co_await weft::offload(calls_on_this_thread); }

weft::Task<void> blocked(std::shared_ptr<std::latch> release) {
    co_await weft::offload([release] { release->wait(); });
}

}  // namespace

TEST_CASE("the blocking pool grows on demand up to its cap", "[exec][blocking_pool]") {
    weft::Runtime rt({.workers = 1, .max_blocking_threads = 4});
    REQUIRE(stats(rt).threads == 0);  // no thread before the first call
    auto release = std::make_shared<std::latch>(1);
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < 10; ++i) handles.push_back(rt.spawn(blocked(release)));
    poll_until(rt, [](auto s) { return s.busy == 4; });
    REQUIRE(stats(rt).threads == 4);  // six calls wait in the queue, no fifth thread
    release->count_down();
    for (auto& handle : handles)
        weft::block_on(rt, [](weft::JoinHandle<void> h) -> weft::Task<void> { co_await h; }(std::move(handle)));
    REQUIRE(stats(rt).threads == 4);
}

TEST_CASE("an idle pool thread takes the next call", "[exec][blocking_pool]") {
    weft::Runtime rt({.workers = 1, .blocking_keep_alive = 1h});
    REQUIRE(weft::block_on(rt, offload_count()) == 1);
    poll_until(rt, [](auto s) { return s.idle == 1; });
    REQUIRE(weft::block_on(rt, offload_count()) == 2);  // the same thread, its second call
    REQUIRE(stats(rt).threads == 1);
}

TEST_CASE("a pool thread idle for the keep-alive retires", "[exec][blocking_pool]") {
    weft::Runtime rt({.workers = 1, .blocking_keep_alive = 5ms});
    REQUIRE(weft::block_on(rt, offload_count()) == 1);
    poll_until(rt, [](auto s) { return s.threads == 0; });
    REQUIRE(weft::block_on(rt, offload_count()) == 1);  // a fresh thread
}
