// The shutdown's drain cancels tasks awaiting offload() or compute() (review-exec finding 1):
// as asyncio.run cancels a task awaiting run_in_executor, each such task gets its
// CancelledError while the loops still run, so its `catch (CancelledError)` cleanup runs, the
// call's stop_token is stopped, and the runtime does not sit out grace + timeout first.
// A task that was cancelled already and awaits an offloaded call in its cleanup is not
// cancelled a second time: the call completes and the cleanup gets its result.
//
// The grace period and shutdown_timeout are 30 s each, a hang guard: were the tasks not
// cancelled, their calls would only be stopped when the bridge abandons them, and the tasks
// destroyed unfinished (the counts below then fail).
#include <catch2/catch.hpp>

#include <weft/compute.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>
#include <thread>

using namespace std::chrono_literals;

namespace {

struct Counts {
    std::atomic<int> entered{0};    // tasks about to await (main returns once all have)
    std::atomic<int> caught{0};     // tasks whose catch (CancelledError) ran
    std::atomic<int> finished{0};   // tasks that returned normally (must stay 0)
    std::atomic<int> started{0};    // callables that ran
    std::atomic<int> stopped{0};    // callables that returned because their stop_token was stopped
    std::atomic<int> cleanups{0};   // cleanup offloads that completed inside a catch block
};

// Blocks its thread until `stop` is requested (no polling, no sleep).
void until_stopped(std::stop_token stop, Counts* counts) {
    counts->started.fetch_add(1);
    std::mutex mutex;
    std::condition_variable_any cv;
    std::unique_lock lock(mutex);
    cv.wait(lock, stop, [] { return false; });
    counts->stopped.fetch_add(1);
}

enum class Kind { offload, compute, parent_of_offload, cleanup_offload };

weft::Task<void> awaits_call(Kind kind, Counts* counts) {
    counts->entered.fetch_add(1);
    try {
        if (kind == Kind::compute) {
            co_await weft::compute([counts](std::stop_token stop) { until_stopped(stop, counts); });
        } else {
            co_await weft::offload([counts](std::stop_token stop) { until_stopped(stop, counts); });
        }
        counts->finished.fetch_add(1);
    } catch (const weft::CancelledError&) {
        counts->caught.fetch_add(1);
        throw;
    }
}

// Cancelled once, its cleanup awaits an offloaded call: that one must complete.
weft::Task<void> cleans_up_with_offload(Counts* counts) {
    counts->entered.fetch_add(1);
    bool cancelled = false;
    try {
        co_await weft::offload([counts](std::stop_token stop) { until_stopped(stop, counts); });
        counts->finished.fetch_add(1);
    } catch (const weft::CancelledError&) {
        counts->caught.fetch_add(1);
        cancelled = true;
    }
    if (cancelled) {
        const int value = co_await weft::offload([] { return 7; });
        if (value == 7) counts->cleanups.fetch_add(1);
        throw weft::CancelledError();
    }
}

weft::Task<void> parent_of(Counts* counts) {
    try {
        co_await weft::spawn(awaits_call(Kind::offload, counts));
        counts->finished.fetch_add(1);
    } catch (const weft::CancelledError&) {
        counts->caught.fetch_add(1);
        throw;
    }
}

// Spawns `tasks` detached tasks of `kind`, returns once each is at (or in) its await.
weft::Task<void> main_returns_early(Kind kind, int tasks, Counts* counts) {
    for (int i = 0; i < tasks; ++i) {
        if (kind == Kind::parent_of_offload) {
            weft::spawn(parent_of(counts)).detach();
        } else if (kind == Kind::cleanup_offload) {
            weft::spawn(cleans_up_with_offload(counts)).detach();
        } else {
            weft::spawn(awaits_call(kind, counts)).detach();
        }
    }
    while (counts->entered.load() < tasks) co_await weft::yield_now();
}

weft::RuntimeOptions options(unsigned workers) {
    return {.workers = workers, .compute_threads = 2, .shutdown_timeout = 30s, .shutdown_grace = 30s};
}

void check_all_cancelled(Kind kind, int tasks, int per_task, const Counts& counts) {
    REQUIRE(counts.entered.load() == tasks);
    REQUIRE(counts.finished.load() == 0);
    REQUIRE(counts.caught.load() == tasks * per_task);  // (a parent and its child each catch)
    // Every callable that started was stopped (a compute call still queued in the arena when
    // its task was cancelled never starts).
    REQUIRE(counts.stopped.load() == counts.started.load());
    if (kind != Kind::compute) REQUIRE(counts.started.load() <= tasks);
}

}  // namespace

TEST_CASE("weft::run cancels tasks awaiting offload() at shutdown", "[exec][shutdown]") {
    for (unsigned workers : {1u, 2u, 4u}) {
        for (int round = 0; round < 20; ++round) {
            Counts counts;
            weft::run(main_returns_early(Kind::offload, 8, &counts), options(workers));
            check_all_cancelled(Kind::offload, 8, 1, counts);
        }
    }
}

TEST_CASE("weft::run cancels tasks awaiting compute() at shutdown", "[exec][shutdown]") {
    for (unsigned workers : {1u, 2u, 4u}) {
        for (int round = 0; round < 20; ++round) {
            Counts counts;
            weft::run(main_returns_early(Kind::compute, 4, &counts), options(workers));
            check_all_cancelled(Kind::compute, 4, 1, counts);
        }
    }
}

TEST_CASE("weft::run cancels a parent awaiting a child that awaits offload()", "[exec][shutdown]") {
    for (unsigned workers : {1u, 2u, 4u}) {
        for (int round = 0; round < 20; ++round) {
            Counts counts;
            weft::run(main_returns_early(Kind::parent_of_offload, 4, &counts), options(workers));
            check_all_cancelled(Kind::parent_of_offload, 4, 2, counts);
        }
    }
}

TEST_CASE("Runtime::shutdown cancels tasks awaiting offload() and compute()", "[exec][shutdown]") {
    for (unsigned workers : {1u, 2u}) {
        for (int round = 0; round < 20; ++round) {
            Counts counts;
            {
                weft::Runtime rt(options(workers));
                for (int i = 0; i < 4; ++i) {
                    rt.spawn(awaits_call(i % 2 ? Kind::compute : Kind::offload, &counts)).detach();
                }
                while (counts.entered.load() < 4) std::this_thread::yield();
                rt.shutdown();
            }
            REQUIRE(counts.finished.load() == 0);
            REQUIRE(counts.caught.load() == 4);
            REQUIRE(counts.stopped.load() == counts.started.load());
        }
    }
}

TEST_CASE("a cleanup awaiting offload() after the shutdown's cancellation completes", "[exec][shutdown]") {
    for (unsigned workers : {1u, 2u}) {
        for (int round = 0; round < 20; ++round) {
            Counts counts;
            weft::run(main_returns_early(Kind::cleanup_offload, 4, &counts), options(workers));
            REQUIRE(counts.finished.load() == 0);
            REQUIRE(counts.caught.load() == 4);
            REQUIRE(counts.cleanups.load() == 4);  // cancelled once, not again in its cleanup
            REQUIRE(counts.stopped.load() == counts.started.load());
        }
    }
}
