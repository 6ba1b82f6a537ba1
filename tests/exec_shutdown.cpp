// Runtime shutdown and the executor bridge: it waits for running offloaded calls (first for
// the grace period, while the runtime drains, then for shutdown_timeout); past them it abandons
// them (their tasks end with RuntimeShutDown), and a call abandoned that way still finishes in
// the background and frees its result.
#include <catch2/catch.hpp>

#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <thread>

#include "support/bridge.hpp"

using namespace std::chrono_literals;

namespace {

struct Gates {
    std::latch started{1};
    std::latch release{1};
    std::latch dropped{1};
    std::atomic<bool> returned{false};
};

weft::Task<int> blocked_offload(std::shared_ptr<Gates> gates) {
    auto result = co_await weft::offload([gates] {
        gates->started.count_down();
        gates->release.wait();
        gates->returned.store(true);
        return test::DropSignal(gates->dropped);
    });
    co_return 1;
}

}  // namespace

TEST_CASE("shutdown waits for a running offloaded call", "[exec][shutdown]") {
    auto gates = std::make_shared<Gates>();
    weft::Runtime rt({.workers = 1});
    auto handle = rt.spawn(blocked_offload(gates));
    gates->started.wait();
    std::thread releaser([gates] { gates->release.count_down(); });  // during or before shutdown
    rt.shutdown();
    REQUIRE(gates->returned.load());  // shutdown() did not return before the call did
    releaser.join();
    REQUIRE(handle.is_done());
    // The result is freed either way: delivered to a task that finished, or dropped with a
    // task the shutdown abandoned (whose frame goes when its handle does).
    handle.detach();
    gates->dropped.wait();
}

TEST_CASE("shutdown abandons calls still running after its timeout", "[exec][shutdown]") {
    auto gates = std::make_shared<Gates>();
    {
        // (No grace period: the drain would wait for the call, which returns after shutdown.)
        weft::Runtime rt({.workers = 1, .shutdown_timeout = 0ms, .shutdown_grace = 0ms});
        auto handle = rt.spawn(blocked_offload(gates));
        gates->started.wait();
        rt.shutdown();  // logs the abandoned call
        REQUIRE(handle.is_done());
        REQUIRE(handle.cancelled());  // ended with RuntimeShutDown, never resumed
        REQUIRE_FALSE(gates->returned.load());
    }  // the runtime is gone; the call still runs on a detached pool thread
    gates->release.count_down();
    gates->dropped.wait();  // it returned, and its result was dropped, not leaked
    REQUIRE(gates->returned.load());
}

TEST_CASE("shutdown drops offloaded calls that had not started", "[exec][shutdown]") {
    auto first = std::make_shared<Gates>();
    auto second = std::make_shared<Gates>();
    weft::Runtime rt({.workers = 1, .max_blocking_threads = 1, .shutdown_timeout = 0ms, .shutdown_grace = 0ms});
    auto running = rt.spawn(blocked_offload(first));
    first->started.wait();
    auto queued = rt.spawn(blocked_offload(second));  // queued behind `first` on the one thread
    // No wait for `queued` to submit: whether it is in the pool's queue or still in the run
    // queue at shutdown, it must end without its callable running.
    rt.shutdown();
    REQUIRE(queued.is_done());
    REQUIRE(running.is_done());
    running.detach();  // the handle keeps the task's frame, and so the awaiter's share of the call
    queued.detach();
    first->release.count_down();
    first->dropped.wait();
    REQUIRE_FALSE(second->returned.load());
    second->release.count_down();
}
