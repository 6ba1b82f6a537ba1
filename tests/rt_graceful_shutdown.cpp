// Shutting down with timers: the graceful way (a main task cancels its services, which
// clean up with RAII and catch-rethrow, and re-raise), and Runtime::shutdown while tasks
// sleep, sit in timeout scopes or hold call_later timers: every cleanup runs exactly once,
// no frame or timer entry leaks. (Queued and joining tasks: rt_shutdown.cpp.)
#include <catch2/catch.hpp>

#include <weft/call_later.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/wait.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

#include "support/clock.hpp"
#include "support/counted.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

struct Tally {
    std::atomic<int> cleanups{0};
    std::atomic<int> caught{0};      // caught CancelledError, then re-raised
    std::atomic<int> iterations{0};  // a unit of work done
    std::atomic<int> started{0};
};

weft::Task<void> forever_asleep(Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    co_await weft::sleep(24h * 365);
}

// Three kinds of service loop: sleeping, yielding between sleeps, and awaiting a child.
weft::Task<void> service(int kind, std::chrono::milliseconds period, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    tally->started.fetch_add(1);
    try {
        for (;;) {
            if (kind == 0) {
                co_await weft::sleep(period);
            } else if (kind == 1) {
                co_await weft::yield_now();
                co_await weft::sleep(period);
            } else {
                co_await weft::spawn(forever_asleep(tally));  // cancelled with us
            }
            tally->iterations.fetch_add(1);
        }
    } catch (const weft::CancelledError&) {
        tally->caught.fetch_add(1);
        throw;
    }
}

struct Graceful {
    int cancelled = 0;  // co_await threw CancelledError
    int flagged = 0;    // JoinHandle::cancelled()
    int other = 0;      // anything else
};

// The graceful shutdown of an asyncio program: main cancels its services, then awaits each
// one's end; they clean up (RAII and catch-rethrow) on the way out.
weft::Task<Graceful> graceful_main(int count, bool paused_clock, Tally* tally) {
    std::vector<weft::JoinHandle<void>> services;
    for (int i = 0; i < count; ++i)
        services.push_back(weft::spawn(service(i % 3, std::chrono::milliseconds(1 + i % 7), tally)));
    if (paused_clock) {
        co_await weft::sleep(1s);  // virtual: the services run for a while
    } else {
        while (tally->started.load() < count) co_await weft::yield_now();
    }
    for (auto& handle : services) handle.cancel();
    co_await weft::wait(services);
    Graceful out;
    for (auto& handle : services) {
        if (handle.cancelled()) ++out.flagged;
        try {
            co_await handle;
            ++out.other;
        } catch (const weft::CancelledError&) {
            ++out.cancelled;
        } catch (...) {
            ++out.other;
        }
    }
    co_return out;
}

// ---- Runtime::shutdown with work still pending
// ---------------------------------------------------

weft::Task<void> asleep(test::Counted, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    tally->started.fetch_add(1);
    co_await weft::sleep(1h);
}

weft::Task<void> joins_a_sleeper(test::Counted, test::LifeCounter* frames, Tally* tally, bool inline_child) {
    test::Cleanup cleanup{&tally->cleanups};
    auto child = weft::spawn(asleep(test::Counted(*frames), tally));
    tally->started.fetch_add(1);
    if (!inline_child) co_await weft::yield_now();  // the child starts as a task of its own
    co_await child;                                 // else it may run inline, as part of this task
}

weft::Task<void> in_a_timeout_scope(test::Counted, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    auto deadline = weft::timeout(1h);
    tally->started.fetch_add(1);
    co_await weft::sleep(2h);
}

weft::Task<void> with_a_pending_callback(test::Counted, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    auto timer = weft::call_later(1h, [tally] { tally->iterations.fetch_add(1); });
    tally->started.fetch_add(1);
    co_await weft::sleep(2h);
}

weft::Task<void> spins_until_shutdown(Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    tally->started.fetch_add(1);
    for (;;) co_await weft::yield_now();
}

weft::Task<int> block_forever(std::atomic<bool>* started) {
    started->store(true);
    co_await weft::sleep(1h);
    co_return 1;
}

}  // namespace

TEST_CASE("graceful shutdown: main cancels its services, every cleanup runs exactly once (paused clock)",
          "[shutdown][timers]") {
    const int count = 300;
    Tally tally;
    Graceful out = weft::run(graceful_main(count, true, &tally), test::paused_clock());
    CHECK(out.cancelled == count);
    CHECK(out.flagged == count);
    CHECK(out.other == 0);
    CHECK(tally.caught == count);
    // Each service's own cleanup, plus one per child of the services that await one (kind 2).
    CHECK(tally.cleanups == count + count / 3);
    CHECK(tally.iterations > 0);
}

TEST_CASE("graceful shutdown on many workers: every cleanup runs exactly once", "[shutdown][timers]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    const int count = test::scaled(3'000, 600);
    Tally tally;
    Graceful out = weft::run(graceful_main(count, false, &tally), {.workers = workers});
    CHECK(out.cancelled == count);
    CHECK(out.flagged == count);
    CHECK(out.other == 0);
    CHECK(tally.caught == count);
    // A kind-2 service may be cancelled before its child was spawned: at most one child each.
    CHECK(tally.cleanups >= count);
    CHECK(tally.cleanups <= count + count / 3);
}

TEST_CASE(
    "Runtime::shutdown with tasks asleep, joining, in timeout scopes and with timers frees " "everything",
    "[shutdown][timers]") {
    // Real clock: on the paused clock an idle runtime would jump straight to these timers.
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    test::LifeCounter frames;
    Tally tally;
    const int per_kind = 50;
    std::vector<weft::JoinHandle<void>> handles;
    {
        weft::Runtime runtime({.workers = workers});
        for (int i = 0; i < per_kind; ++i) {
            handles.push_back(runtime.spawn(asleep(test::Counted(frames), &tally)));
            handles.push_back(runtime.spawn(joins_a_sleeper(test::Counted(frames), &frames, &tally, false)));
            handles.push_back(runtime.spawn(in_a_timeout_scope(test::Counted(frames), &tally)));
            handles.push_back(runtime.spawn(with_a_pending_callback(test::Counted(frames), &tally)));
        }
        handles.push_back(runtime.spawn(spins_until_shutdown(&tally)));
        const int expected = 5 * per_kind + 1;  // joins_a_sleeper counts twice
        while (tally.started.load() < expected) std::this_thread::yield();
        runtime.shutdown();
    }
    int done = 0, cancelled = 0;
    for (auto& handle : handles) {
        done += handle.is_done() ? 1 : 0;
        cancelled += handle.cancelled() ? 1 : 0;
    }
    CHECK(done == static_cast<int>(handles.size()));
    CHECK(cancelled == static_cast<int>(handles.size()));
    handles.clear();
    CHECK(frames.live() == 0);
    CHECK(tally.cleanups == 5 * per_kind + 1);
    CHECK(tally.iterations == 0);  // no callback ran
}

TEST_CASE("Runtime::shutdown frees a child that its joiner runs inline", "[shutdown][timers]") {
    test::LifeCounter frames;
    Tally tally;
    {
        weft::Runtime runtime({.workers = 1});
        auto joiner = runtime.spawn(joins_a_sleeper(test::Counted(frames), &frames, &tally, true));
        while (tally.started.load() < 2) std::this_thread::yield();
        runtime.shutdown();
    }
    CHECK(frames.live() == 0);
    CHECK(tally.cleanups == 2);
}

TEST_CASE("block_on of a sleeping task throws RuntimeShutDown when the runtime shuts down", "[shutdown][timers]") {
    weft::Runtime runtime({.workers = 1});
    std::atomic<bool> started{false};
    std::exception_ptr error;
    std::thread caller([&] {
        try {
            (void)weft::block_on(runtime, block_forever(&started));
        } catch (...) {
            error = std::current_exception();
        }
    });
    while (!started.load()) std::this_thread::yield();
    runtime.shutdown();
    caller.join();
    REQUIRE(error);
    CHECK_THROWS_AS(std::rethrow_exception(error), weft::RuntimeShutDown);
}
