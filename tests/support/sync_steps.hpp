// Helpers for the weft::sync tests.
//
//   std::string log;
//   auto a = weft::spawn(test::locked_append(lock, 'a', log));
//   co_await weft::testing::until_waiters(lock, 1);     // a is now queued on the lock
//   co_await test::expect_cancelled(std::move(a));      // after a.cancel()
//
// Step-by-step tests run on one worker (test::one_worker), where tasks interleave only at
// awaits, so a plain std::string log needs no lock and the order it records is exact.
// Never co_await inside CHECK(...): Catch repeats the expression in an unevaluated tail of
// the macro, and g++ 12 miscompiles a co_await there (the test hangs). Await into a local.
#pragma once

#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
#include <utility>

namespace test {

// Counts live instances (copies and moves included): items a queue drops must be destroyed.
struct Tracked {
    explicit Tracked(std::atomic<std::int64_t>& live) noexcept : live_(&live) { live_->fetch_add(1); }
    Tracked(const Tracked& other) noexcept : live_(other.live_) { live_->fetch_add(1); }
    Tracked(Tracked&& other) noexcept : live_(other.live_) { live_->fetch_add(1); }
    Tracked& operator=(const Tracked&) = delete;
    ~Tracked() { live_->fetch_sub(1); }
    std::atomic<std::int64_t>* live_;
};

// A coroutine weft does not run: it starts eagerly on the calling thread. weft's awaitables
// must refuse to suspend it (UsageError) rather than lose it.
struct EagerCoroutine {
    struct promise_type {
        EagerCoroutine get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }
    };
};

inline weft::RuntimeOptions one_worker() { return weft::RuntimeOptions{.workers = 1, .name = "sync-test"}; }
inline weft::RuntimeOptions workers(unsigned n) { return weft::RuntimeOptions{.workers = n, .name = "sync-test"}; }

// Awaits a task that must end by cancellation.
template <class T>
weft::Task<void> expect_cancelled(weft::JoinHandle<T> handle) {
    bool cancelled = false;
    try {
        co_await handle;
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    CHECK(cancelled);
}

// Lets every task that is ready on this (single) worker run first.
inline weft::Task<void> settle(int rounds = 4) {
    for (int i = 0; i < rounds; ++i) co_await weft::yield_now();
}

// A SharedLock reader (writer) that logs `name` once it holds the lock and holds it until `done`.
inline weft::Task<void> read_until(weft::SharedLock& lock, char name, std::string& log, weft::Event& done) {
    auto reading = co_await lock.lock_shared();
    log.push_back(name);
    co_await done.wait();
}

inline weft::Task<void> write_until(weft::SharedLock& lock, char name, std::string& log, weft::Event& done) {
    auto writing = co_await lock.lock();
    log.push_back(name);
    co_await done.wait();
}

}  // namespace test
