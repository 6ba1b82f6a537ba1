// co_await weft::offload(): values and exceptions come back unchanged; 10,000 concurrent
// blocking calls finish while the loop keeps ticking; the pool never runs more calls than its
// cap; cancellation ends the wait at once and drops the result; a call cancelled before it
// started never runs; a stop_token callable stops early; outside a runtime it is a UsageError.
#include <catch2/catch.hpp>

#include <weft/compute.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "support/bridge.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

// --- values, arguments, exceptions ----------------------------------------------------------

struct CustomFailure {  // deliberately not a std::exception
    int code;
};

class DerivedError : public std::runtime_error {
public:
    explicit DerivedError(int detail) : std::runtime_error("derived"), detail_(detail) {}
    int detail() const noexcept { return detail_; }

private:
    int detail_;
};

weft::Task<std::string> values_and_arguments() {
    int sum = co_await weft::offload([](int a, int b) { return a + b; }, 40, 2);
    auto owned = co_await weft::offload([](std::unique_ptr<int> p) { return std::make_unique<int>(*p + 1); },
                                        std::make_unique<int>(6));
    co_await weft::offload([] {});  // void
    std::string text = co_await weft::offload([](std::string s) { return s + "!"; }, std::string("moved"));
    co_return std::to_string(sum) + " " + std::to_string(*owned) + " " + text;
}

weft::Task<int> throws_custom() {
    co_return co_await weft::offload([]() -> int { throw CustomFailure{42}; });
}

// The awaiter catches the very object the callable threw, not a copy or a wrapper.
weft::Task<bool> same_exception_object() {
    const DerivedError* thrown = nullptr;
    try {
        co_await weft::offload([&thrown] {
            try {
                throw DerivedError(7);
            } catch (const DerivedError& e) {
                thrown = &e;
                throw;
            }
        });
    } catch (const DerivedError& e) {
        co_return &e == thrown&& e.detail() == 7;
    }
    co_return false;
}

// --- many concurrent blocking calls, a loop that keeps ticking ------------------------------

// Each call blocks its pool thread until `gate` opens, then sleeps 1 ms (the blocking work).
weft::Task<std::uint64_t> sleep_then_return(std::uint64_t value, std::latch* gate, std::atomic<int>* running,
                                            std::atomic<std::uint64_t>* remaining) {
    std::uint64_t v = co_await weft::offload([value, gate, running] {
        running->fetch_add(1);
        gate->wait();
        std::this_thread::sleep_for(1ms);
        return value;
    });
    remaining->fetch_sub(1);
    co_return v;
}

struct ManySleeps {
    std::uint64_t sum = 0;
    int running_while_ticking = 0;    // calls holding a pool thread while the loop ticked
    std::uint64_t remaining_after_ticks = 0;  // calls outstanding after the ticks
};

// Every pool thread (`cap` of them) is blocked in a call and the rest of the n calls wait in
// the pool's queue: the loop still runs timers, 10 ticks of 1 ms, before the gate opens.
weft::Task<ManySleeps> many_sleeps(std::uint64_t n, int cap) {
    std::latch gate{1};
    std::atomic<int> running{0};
    std::atomic<std::uint64_t> remaining{n};
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    handles.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i)
        handles.push_back(weft::spawn(sleep_then_return(i, &gate, &running, &remaining)));
    while (running.load() < cap) co_await weft::yield_now();  // the pool is full
    for (int tick = 0; tick < 10; ++tick) co_await weft::sleep(1ms);
    ManySleeps out;
    out.running_while_ticking = running.load();
    out.remaining_after_ticks = remaining.load();
    gate.count_down();
    for (auto& handle : handles) out.sum += co_await handle;
    co_return out;
}

// --- the cap --------------------------------------------------------------------------------

struct Concurrency {
    std::atomic<int> now{0};
    std::atomic<int> peak{0};
};

weft::Task<int> bounded_call(Concurrency* c, std::latch* all_submitted, std::atomic<int>* submitted) {
    submitted->fetch_add(1);
    co_return co_await weft::offload([c, all_submitted] {
        int running = c->now.fetch_add(1) + 1;
        int peak = c->peak.load();
        while (running > peak && !c->peak.compare_exchange_weak(peak, running)) {
        }
        all_submitted->wait();  // holds its thread until every call has been queued
        c->now.fetch_sub(1);
        return 1;
    });
}

// Every call is submitted and the pool is full (`cap` calls hold a thread each) before any
// is let go; the loop keeps running meanwhile (it polls by yielding).
weft::Task<int> over_the_cap(int calls, int cap, Concurrency* c) {
    std::latch all_submitted{1};
    std::atomic<int> submitted{0};
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < calls; ++i) handles.push_back(weft::spawn(bounded_call(c, &all_submitted, &submitted)));
    while (submitted.load() < calls || c->now.load() < cap) co_await weft::yield_now();
    for (int i = 0; i < 3; ++i)  // the loop is not blocked by the full queue
        co_await weft::yield_now();
    all_submitted.count_down();
    int done = 0;
    for (auto& handle : handles) done += co_await handle;
    co_return done;
}

// --- cancellation ---------------------------------------------------------------------------
// Callables that outlive their awaiter share their latches through a shared_ptr, never a
// reference into the awaiting frame (the FOOTGUN offload.hpp warns about).

struct Gates {
    std::latch started{1};
    std::latch release{1};
    std::latch finished{1};
    std::latch dropped{1};
    std::atomic<bool> returned{false};
    std::atomic<bool> ran{false};
    std::atomic<bool> saw_stop{false};
};

struct CancelOutcome {
    bool cancelled = false;               // the awaiting task ended with CancelledError...
    bool callable_still_blocked = false;  // ...while its callable had not returned yet
    bool result_dropped = false;          // the callable's result was freed, never delivered
    bool delivered = false;
};

weft::Task<void> wait_for_blocked(std::shared_ptr<Gates> gates, bool* delivered) {
    auto result = co_await weft::offload([gates] {
        gates->started.count_down();
        gates->release.wait();
        gates->returned.store(true);
        return test::DropSignal(gates->dropped);
    });
    *delivered = true;
}

weft::Task<CancelOutcome> cancel_mid_offload() {
    auto gates = std::make_shared<Gates>();
    CancelOutcome out;
    auto handle = weft::spawn(wait_for_blocked(gates, &out.delivered));
    co_await weft::offload([gates] { gates->started.wait(); });  // waits off the loop
    handle.cancel();
    try {
        co_await handle;
    } catch (const weft::CancelledError&) {
        out.cancelled = true;
    }
    out.callable_still_blocked = !gates->returned.load();
    gates->release.count_down();
    co_await weft::offload([gates] { gates->dropped.wait(); });
    out.result_dropped = true;
    co_return out;
}

// With one pool thread, a queued call whose awaiter is cancelled never runs.
weft::Task<void> block_pool(std::shared_ptr<Gates> gates) {
    co_await weft::offload([gates] {
        gates->returned.store(true);
        gates->release.wait();
    });
}

weft::Task<void> set_flag(std::shared_ptr<Gates> gates) {
    co_await weft::offload([gates] { gates->ran.store(true); });
}

weft::Task<bool> cancelled_before_start_never_runs() {
    auto gates = std::make_shared<Gates>();
    auto blocker = weft::spawn(block_pool(gates));
    while (!gates->returned.load()) co_await weft::yield_now();  // the only pool thread is taken
    auto queued = weft::spawn(set_flag(gates));
    co_await weft::yield_now();  // it submits its call, which waits behind the blocker
    queued.cancel();
    bool cancelled = false;
    try {
        co_await queued;
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    gates->release.count_down();
    co_await blocker;
    co_await weft::offload([] {});  // FIFO: had the cancelled call run, it ran before this one
    co_return cancelled && !gates->ran.load();
}

struct StopOutcome {
    bool cancelled = false;
    bool saw_stop = false;
};

weft::Task<int> cooperative(std::shared_ptr<Gates> gates) {
    co_return co_await weft::offload(
        [gates](std::stop_token stop, int value) {
            gates->started.count_down();
            std::mutex mutex;
            std::condition_variable_any cv;
            std::unique_lock lock(mutex);
            cv.wait(lock, stop, [] { return false; });  // returns once stop is requested
            gates->saw_stop.store(stop.stop_requested());
            gates->finished.count_down();
            return value;
        },
        5);
}

weft::Task<StopOutcome> stop_token_stops_early() {
    auto gates = std::make_shared<Gates>();
    StopOutcome out;
    auto handle = weft::spawn(cooperative(gates));
    co_await weft::offload([gates] { gates->started.wait(); });
    handle.cancel();
    try {
        co_await handle;
    } catch (const weft::CancelledError&) {
        out.cancelled = true;
    }
    co_await weft::offload([gates] { gates->finished.wait(); });
    out.saw_stop = gates->saw_stop.load();
    co_return out;
}

weft::Task<bool> timeout_ends_the_wait() {
    auto gates = std::make_shared<Gates>();
    bool timed_out = false;
    try {
        auto deadline = weft::timeout(5ms);
        co_await weft::offload([gates] { gates->release.wait(); });
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    gates->release.count_down();
    co_return timed_out;
}

}  // namespace

TEST_CASE("offload returns values, moves arguments and results", "[exec][offload]") {
    REQUIRE(weft::run(values_and_arguments()) == "42 7 moved!");
}

TEST_CASE("exceptions from offloaded callables reach the awaiter unchanged", "[exec][offload]") {
    try {
        weft::run(throws_custom());
        FAIL("no exception");
    } catch (const CustomFailure& failure) {
        REQUIRE(failure.code == 42);
    }
    REQUIRE(weft::run(same_exception_object()));
}

TEST_CASE("10,000 concurrent offloaded 1 ms sleeps finish while the loop keeps ticking", "[exec][offload]") {
    const std::uint64_t n = 10'000;
    const unsigned cap = test::scaled(512u, 64u);
    weft::RuntimeOptions options{.workers = 2, .max_blocking_threads = cap};
    ManySleeps out = weft::run(many_sleeps(n, static_cast<int>(cap)), options);
    REQUIRE(out.sum == n * (n - 1) / 2);
    REQUIRE(out.running_while_ticking == static_cast<int>(cap));  // never more than the cap
    REQUIRE(out.remaining_after_ticks == n);                       // none finished before the gate
}

TEST_CASE("calls beyond the pool's cap wait in its queue without blocking the loop", "[exec][offload]") {
    Concurrency c;
    int done = weft::run(over_the_cap(40, 3, &c), weft::RuntimeOptions{.workers = 1, .max_blocking_threads = 3});
    REQUIRE(done == 40);
    REQUIRE(c.peak.load() == 3);  // the pool filled up to its cap, never beyond
}

TEST_CASE("a blocking pool of no threads, or a negative keep-alive or shutdown time, is refused", "[exec][offload]") {
    // ThreadPoolExecutor(max_workers=0) is a ValueError; 0 used to mean 1 without a word.
    CHECK_THROWS_AS(weft::Runtime(weft::RuntimeOptions{.workers = 1, .max_blocking_threads = 0}), weft::UsageError);
    CHECK_THROWS_AS(
        weft::Runtime(weft::RuntimeOptions{.workers = 1, .blocking_keep_alive = std::chrono::milliseconds(-1)}),
        weft::UsageError);
    CHECK_THROWS_AS(
        weft::Runtime(weft::RuntimeOptions{.workers = 1, .shutdown_timeout = std::chrono::milliseconds(-1)}),
        weft::UsageError);
    CHECK_THROWS_AS(weft::Runtime(weft::RuntimeOptions{.workers = 1, .shutdown_grace = std::chrono::milliseconds(-1)}),
                    weft::UsageError);
    weft::Runtime zero_waits(
        weft::RuntimeOptions{.workers = 1, .blocking_keep_alive = {}, .shutdown_timeout = {}, .shutdown_grace = {}});
}

TEST_CASE("cancelling the awaiting task ends the wait at once and drops the result", "[exec][offload][cancel]") {
    CancelOutcome out = weft::run(cancel_mid_offload());
    REQUIRE(out.cancelled);
    REQUIRE(out.callable_still_blocked);
    REQUIRE_FALSE(out.delivered);
    REQUIRE(out.result_dropped);
}

TEST_CASE("a call cancelled before a pool thread took it never runs", "[exec][offload][cancel]") {
    REQUIRE(
        weft::run(cancelled_before_start_never_runs(), weft::RuntimeOptions{.workers = 1, .max_blocking_threads = 1}));
}

TEST_CASE("a stop_token callable is stopped when its awaiter is cancelled", "[exec][offload][cancel]") {
    StopOutcome out = weft::run(stop_token_stops_early());
    REQUIRE(out.cancelled);
    REQUIRE(out.saw_stop);
}

TEST_CASE("a timeout scope ends an offload wait with TimeoutError", "[exec][offload][cancel]") {
    REQUIRE(weft::run(timeout_ends_the_wait()));
}

TEST_CASE("offload outside a runtime task throws UsageError", "[exec][offload][usage]") {
    REQUIRE_THROWS_AS(weft::offload([] { return 1; }), weft::UsageError);
    REQUIRE_THROWS_AS(weft::compute([] { return 1; }), weft::UsageError);
}
