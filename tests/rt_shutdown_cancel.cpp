// Shutdown cancels, then waits (asyncio.run): when weft::run's main task returns, or a
// Runtime is destroyed, every task still alive is cancelled and the runtime keeps running
// (up to RuntimeOptions::shutdown_grace) while they unwind, so that their catch blocks and
// awaited cleanup run. Tasks that ignore the cancellation are destroyed after the grace
// period and named in one log line; tasks queued but never started end cancelled unrun.
// (Frames destroyed exactly once: rt_shutdown.cpp, rt_graceful_shutdown.cpp.)
#include <catch2/catch.hpp>

#include <weft/barrier.hpp>
#include <weft/condition.hpp>
#include <weft/event.hpp>
#include <weft/latch.hpp>
#include <weft/lock.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/queue.hpp>
#include <weft/semaphore.hpp>
#include <weft/shared_lock.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/counted.hpp"
#include "support/log_capture.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

// What the tasks saw. Shared by tasks on any worker, read after the runtime is gone.
struct Record {
    std::atomic<int> started{0};
    std::atomic<int> caught{0};       // saw CancelledError
    std::atomic<int> cleaned{0};      // finished an awaited cleanup, then re-raised
    std::atomic<int> child_ran{0};    // a child spawned and awaited during the cleanup
    std::atomic<int> ignored{0};      // caught CancelledError and carried on
};

weft::Task<void> cleanup_child(Record* record) {
    co_await weft::sleep(0ms);
    record->child_ran.fetch_add(1);
}

// The cleanup awaits (a yield and a child task): C++ allows no co_await inside a catch
// block, so the handler notes the cancellation and the cleanup follows it.
weft::Task<void> awaited_cleanup(Record* record) {
    co_await weft::sleep(0ms);
    co_await weft::spawn(cleanup_child(record));
    record->cleaned.fetch_add(1);
}

weft::Task<void> sleeper(test::Counted, Record* record) {
    record->started.fetch_add(1);
    bool cancelled = false;
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        record->caught.fetch_add(1);
        cancelled = true;
    }
    if (cancelled) {
        co_await awaited_cleanup(record);
        throw weft::CancelledError();
    }
}

// Takes the lock and sleeps holding it; of two of these (or a lock_waiter) on one lock, the
// second queues for it.
weft::Task<void> lock_holder(test::Counted, std::shared_ptr<weft::Lock> lock, Record* record) {
    record->started.fetch_add(1);
    try {
        auto held = co_await lock->lock();
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        record->caught.fetch_add(1);
        throw;
    }
}

weft::Task<void> lock_waiter(test::Counted, std::shared_ptr<weft::Lock> lock, Record* record) {
    record->started.fetch_add(1);
    try {
        auto held = co_await lock->lock();
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        record->caught.fetch_add(1);
        throw;
    }
}

// Waits to read a socket nobody writes to.
weft::Task<void> reader(test::Counted, Record* record) {
    auto [mine, theirs] = weft::net::UnixStream::pair();
    record->started.fetch_add(1);
    char byte = 0;
    try {
        (void)co_await mine.read(&byte, 1);
    } catch (const weft::CancelledError&) {
        record->caught.fetch_add(1);
        throw;
    }
}

// Waits on a queue nobody puts to, inside a long timeout scope.
weft::Task<void> consumer(test::Counted, Record* record) {
    weft::Queue<int> queue;
    record->started.fetch_add(1);
    try {
        auto deadline = weft::timeout(1h);
        (void)co_await queue.get();
    } catch (const weft::CancelledError&) {
        record->caught.fetch_add(1);
        throw;
    }
}

weft::Task<void> never_started(test::Counted, Record* record) {
    record->started.fetch_add(1);
    co_return;
}

constexpr int kEach = 5;

// Leaves sleepers, lock holders and waiters, socket readers and queue consumers behind.
weft::Task<int> leave_work_behind(test::LifeCounter* frames, Record* record) {
    for (int i = 0; i < kEach; ++i) {
        weft::spawn(sleeper(test::Counted(*frames), record)).detach();
        auto lock = std::make_shared<weft::Lock>();
        weft::spawn(lock_holder(test::Counted(*frames), lock, record)).detach();
        weft::spawn(lock_waiter(test::Counted(*frames), lock, record)).detach();
        weft::spawn(reader(test::Counted(*frames), record)).detach();
        weft::spawn(consumer(test::Counted(*frames), record)).detach();
    }
    // Every one of them is suspended (the lock waiters queued) before main returns.
    while (record->started.load() < 5 * kEach) co_await weft::sleep(1ms);
    co_return 7;
}

// Primitives nobody signals: only the shutdown can end a wait on them. Owned by the waiting
// tasks (shared), so they outlive every wait.
struct Unsignalled {
    weft::Event event;
    weft::Queue<int> empty;
    weft::Queue<int> full{1};
    weft::Semaphore none{0};
    weft::Condition condition;
    weft::Barrier barrier{1000};
    weft::Latch latch{1};
    weft::Lock lock;
    weft::SharedLock shared;
};

enum class Parking { event, get, put, semaphore, condition, barrier, latch, lock, write_lock, kinds };

// Holds the lock (and the shared lock for reading) while waiting on the event, so that the
// Parking::lock and Parking::write_lock waiters queue behind it.
weft::Task<void> park_on(test::Counted, std::shared_ptr<Unsignalled> on, Parking how, Record* record) {
    try {
        switch (how) {
            case Parking::event: {
                auto held = co_await on->lock.lock();
                auto reading = co_await on->shared.lock_shared();
                record->started.fetch_add(1);
                co_await on->event.wait();
                break;
            }
            case Parking::get:
                record->started.fetch_add(1);
                (void)co_await on->empty.get();
                break;
            case Parking::put:
                record->started.fetch_add(1);
                co_await on->full.put(2);
                break;
            case Parking::semaphore: {
                record->started.fetch_add(1);
                auto permit = co_await on->none.acquire();
                break;
            }
            case Parking::condition: {
                auto held = co_await on->condition.lock();
                record->started.fetch_add(1);
                co_await on->condition.wait();
                break;
            }
            case Parking::barrier:
                record->started.fetch_add(1);
                (void)co_await on->barrier.wait();
                break;
            case Parking::latch:
                record->started.fetch_add(1);
                co_await on->latch.wait();
                break;
            case Parking::lock: {
                record->started.fetch_add(1);
                auto held = co_await on->lock.lock();
                break;
            }
            case Parking::write_lock: {
                record->started.fetch_add(1);
                auto writing = co_await on->shared.lock();
                break;
            }
            case Parking::kinds:
                break;
        }
    } catch (const weft::CancelledError&) {
        record->caught.fetch_add(1);
        throw;
    }
    record->ignored.fetch_add(1);  // a wait ended without a cancellation: nothing signals them
}

constexpr int kParkings = static_cast<int>(Parking::kinds);

// Parks one task in every kind of wait, then returns while they all wait.
weft::Task<int> park_everywhere(test::LifeCounter* frames, Record* record) {
    auto on = std::make_shared<Unsignalled>();
    on->full.put_nowait(1);
    // The event waiter first: it holds the locks the lock waiters queue for.
    weft::spawn(park_on(test::Counted(*frames), on, Parking::event, record)).detach();
    while (record->started.load() < 1) co_await weft::sleep(1ms);
    for (int how = 1; how < kParkings; ++how)
        weft::spawn(park_on(test::Counted(*frames), on, static_cast<Parking>(how), record)).detach();
    while (record->started.load() < kParkings) co_await weft::sleep(1ms);
    co_return 7;
}

weft::Task<void> spawn_and_return(test::LifeCounter* frames, Record* record, int count,
                                  std::vector<weft::JoinHandle<void>>* handles) {
    for (int i = 0; i < count; ++i) handles->push_back(weft::spawn(never_started(test::Counted(*frames), record)));
    co_return;
}

// Refuses every cancellation and sleeps on.
weft::Task<void> stubborn(test::Counted, Record* record) {
    record->started.fetch_add(1);
    for (;;) {
        try {
            co_await weft::sleep(1h);
        } catch (const weft::CancelledError&) {
            record->ignored.fetch_add(1);
        }
    }
}

weft::Task<void> leave_a_stubborn_task(test::LifeCounter* frames, Record* record) {
    weft::spawn(stubborn(test::Counted(*frames), record), "stubborn").detach();
    while (record->started.load() < 1) co_await weft::sleep(1ms);
}

}  // namespace

TEST_CASE("when weft::run's main task returns, the tasks still alive are cancelled and their cleanup runs",
          "[runtime][shutdown][shutdown_cancel]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    for (int round = 0; round < test::scaled(20, 5); ++round) {
        test::LifeCounter frames;
        Record record;
        REQUIRE(weft::run(leave_work_behind(&frames, &record), {.workers = workers}) == 7);
        CAPTURE(round);
        CHECK(record.caught == 5 * kEach);
        CHECK(record.cleaned == kEach);    // the sleepers' awaited cleanup ran to its end
        CHECK(record.child_ran == kEach);  // including the child each one spawned and awaited
        CHECK(frames.live() == 0);
    }
}

TEST_CASE("at shutdown, tasks waiting on sync primitives nobody signals are cancelled and unwind",
          "[runtime][shutdown][shutdown_cancel]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    for (int round = 0; round < test::scaled(20, 5); ++round) {
        CAPTURE(round);
        test::LifeCounter frames;
        Record record;
        test::LogCapture log;  // nobody is a straggler: nothing is logged
        REQUIRE(weft::run(park_everywhere(&frames, &record), {.workers = workers}) == 7);
        CHECK(record.caught == kParkings);
        CHECK(record.ignored == 0);
        CHECK(frames.live() == 0);  // and with them the primitives they shared
        CHECK(log.lines().empty());
    }
}

TEST_CASE("destroying a Runtime cancels its tasks and waits for their cleanup",
          "[runtime][shutdown][shutdown_cancel]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    test::LifeCounter frames;
    Record record;
    {
        weft::Runtime runtime({.workers = workers});
        for (int i = 0; i < kEach; ++i) runtime.spawn(sleeper(test::Counted(frames), &record)).detach();
        while (record.started.load() < kEach) std::this_thread::yield();
    }
    CHECK(record.caught == kEach);
    CHECK(record.cleaned == kEach);
    CHECK(record.child_ran == kEach);
    CHECK(frames.live() == 0);
}

TEST_CASE("a task queued but never started ends cancelled at shutdown, its body never run",
          "[runtime][shutdown][shutdown_cancel]") {
    test::LifeCounter frames;
    Record record;
    std::vector<weft::JoinHandle<void>> handles;
    const int count = 100;
    weft::run(spawn_and_return(&frames, &record, count, &handles), {.workers = 1});
    CHECK(record.started == 0);
    REQUIRE(handles.size() == static_cast<std::size_t>(count));
    for (auto& handle : handles) {
        CHECK(handle.is_done());
        CHECK(handle.cancelled());
    }
    handles.clear();
    CHECK(frames.live() == 0);
}

TEST_CASE("a task that ignores its cancellation is destroyed after the grace period and named in the log",
          "[runtime][shutdown][shutdown_cancel]") {
    const unsigned workers = GENERATE(1u, 2u);
    CAPTURE(workers);
    test::LifeCounter frames;
    Record record;
    test::LogCapture log;
    weft::run(leave_a_stubborn_task(&frames, &record), {.workers = workers, .shutdown_grace = 20ms});
    CHECK(record.ignored >= 1);  // it was cancelled (and refused)
    CHECK(frames.live() == 0);   // and destroyed all the same
    int naming = 0;
    for (const auto& line : log.lines())
        if (line.find("stubborn") != std::string::npos) ++naming;
    CHECK(naming == 1);
}
