// A sync primitive destroyed while tasks wait on it: a bug in the program, reported instead of
// being left to freed memory. Each waiter resumes with UsageError (it never touches the gone
// primitive: ASan would say so), and the destruction is logged naming the waiting tasks. Step by
// step on one worker for each primitive, then many rounds on two workers, where a waiter may
// resume on the other worker while the destructor is still running.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "support/log_capture.hpp"
#include "support/sync_steps.hpp"

namespace {

// Awaits `wait` and says how it ended: "usage error" (saying why), "returned" or "other". (No
// CHECK here: it may run on any worker, and Catch is not thread-safe.)
template <class Wait>
weft::Task<std::string> outcome_of(Wait wait) {
    try {
        co_await wait();
    } catch (const weft::UsageError& error) {
        bool says_why = std::string(error.what()).find("was destroyed while it waited") != std::string::npos;
        co_return says_why ? "usage error" : "usage error without the reason";
    } catch (...) {
        co_return "other";
    }
    co_return "returned";
}

// Spawns `waiters` tasks awaiting `wait(primitive)`, destroys the primitive once they all wait,
// and returns how each ended.
template <class Primitive, class Wait>
weft::Task<std::vector<std::string>> destroy_while_waiting(std::unique_ptr<Primitive> primitive, Wait wait,
                                                           std::size_t waiters) {
    std::vector<weft::JoinHandle<std::string>> tasks;
    for (std::size_t i = 0; i < waiters; ++i) {
        Primitive* raw = primitive.get();
        tasks.push_back(weft::spawn(outcome_of([raw, wait]() { return wait(*raw); })));
    }
    co_await weft::testing::until_waiters(*primitive, waiters);
    primitive.reset();
    std::vector<std::string> outcomes;
    for (auto& task : tasks) {
        std::string outcome = co_await task;
        outcomes.push_back(outcome);
    }
    co_return outcomes;
}

template <class Primitive, class Wait>
void check_destroyed_with_waiters(std::unique_ptr<Primitive> primitive, Wait wait) {
    test::LogCapture log;
    auto outcomes = weft::run(destroy_while_waiting(std::move(primitive), wait, 2), test::one_worker());
    CHECK(outcomes == std::vector<std::string>{"usage error", "usage error"});
    auto errors = log.errors();
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].text.find("destroyed while 2 task(s) waited on it") != std::string::npos);
}

}  // namespace

TEST_CASE("a Lock destroyed while tasks wait for it: they get UsageError, the destruction is logged",
          "[sync][destroyed]") {
    auto lock = std::make_unique<weft::Lock>();
    REQUIRE(lock->try_lock());
    check_destroyed_with_waiters(std::move(lock), [](weft::Lock& l) -> weft::Task<void> {
        auto guard = co_await l.lock();
        guard.detach();
    });
}

TEST_CASE("a Semaphore, an Event, a Latch, a Barrier destroyed with waiters: UsageError, logged", "[sync][destroyed]") {
    check_destroyed_with_waiters(std::make_unique<weft::Semaphore>(0), [](weft::Semaphore& s) -> weft::Task<void> {
        auto permit = co_await s.acquire();
        permit.detach();
    });
    check_destroyed_with_waiters(std::make_unique<weft::Event>(),
                                 [](weft::Event& e) -> weft::Task<void> { co_await e.wait(); });
    check_destroyed_with_waiters(std::make_unique<weft::Latch>(5),
                                 [](weft::Latch& l) -> weft::Task<void> { co_await l.wait(); });
    check_destroyed_with_waiters(std::make_unique<weft::Barrier>(3), [](weft::Barrier& b) -> weft::Task<void> {
        std::size_t index = co_await b.wait();
        (void)index;
    });
}

TEST_CASE("a SharedLock destroyed with readers waiting: UsageError, logged", "[sync][destroyed]") {
    auto lock = std::make_unique<weft::SharedLock>();
    REQUIRE(lock->try_lock());
    check_destroyed_with_waiters(std::move(lock), [](weft::SharedLock& l) -> weft::Task<void> {
        auto guard = co_await l.lock_shared();
        guard.detach();
    });
}

TEST_CASE("a Queue destroyed with getters, with putters, with joiners: UsageError, logged", "[sync][destroyed]") {
    check_destroyed_with_waiters(std::make_unique<weft::Queue<int>>(1), [](weft::Queue<int>& q) -> weft::Task<void> {
        int item = co_await q.get();
        (void)item;
    });
    auto full = std::make_unique<weft::Queue<std::string>>(1);
    full->put_nowait("x");
    check_destroyed_with_waiters(std::move(full), [](weft::Queue<std::string>& q) -> weft::Task<void> {
        co_await q.put(std::string(100, 'y'));  // a heap string: ASan sees it freed once
    });
    auto unfinished = std::make_unique<weft::Queue<int>>(0);
    unfinished->put_nowait(1);
    check_destroyed_with_waiters(std::move(unfinished),
                                 [](weft::Queue<int>& q) -> weft::Task<void> { co_await q.join(); });
}

TEST_CASE("a Condition destroyed with waiters: they get UsageError holding the lock again", "[sync][destroyed]") {
    test::LogCapture log;
    weft::run(
        []() -> weft::Task<void> {
            weft::Lock lock;
            auto condition = std::make_unique<weft::Condition>(lock);
            std::atomic<int> held_after_error{0};
            auto waiter = [&]() -> weft::Task<void> {
                auto guard = co_await lock.lock();
                try {
                    co_await condition->wait();
                } catch (const weft::UsageError&) {
                    if (lock.held_by_current_task()) held_after_error.fetch_add(1);
                }
            };
            auto a = weft::spawn(waiter());
            auto b = weft::spawn(waiter());
            co_await weft::testing::until_waiters(*condition, 2);
            condition.reset();
            co_await a;
            co_await b;
            CHECK(held_after_error.load() == 2);
            CHECK_FALSE(lock.locked());
        }(),
        test::one_worker());
    REQUIRE(log.errors().size() == 1);
    CHECK(log.errors()[0].text.find("destroyed while 2 task(s)") != std::string::npos);
}

TEST_CASE("primitives destroyed with waiters on two workers, many rounds: every waiter gets UsageError once",
          "[sync][destroyed]") {
    test::LogCapture log;
    constexpr int kRounds = 300;
    constexpr std::size_t kWaiters = 4;
    std::size_t usage_errors = 0;
    for (int round = 0; round < kRounds; ++round) {
        auto outcomes = weft::run(destroy_while_waiting(
                                      std::make_unique<weft::Event>(),
                                      [](weft::Event& e) -> weft::Task<void> { co_await e.wait(); }, kWaiters),
                                  test::workers(2));
        for (auto& outcome : outcomes) usage_errors += outcome == "usage error";
        CHECK(outcomes.size() == kWaiters);
    }
    CHECK(usage_errors == kRounds * kWaiters);
    CHECK(log.errors().size() == kRounds);
}
