// Helpers for the weft::sync tests.
//
//   std::string log;
//   auto a = weft::spawn(test::locked_append(lock, 'a', log));
//   co_await weft::testing::until_waiters(lock, 1);     // a is now queued on the lock
//   co_await test::expect_cancelled(std::move(a));      // after a.cancel()
//
// Step-by-step tests run on one worker (test::one_worker), where tasks interleave only at
// awaits, so a plain std::string log needs no lock and the order it records is exact.
#pragma once

#include <catch2/catch.hpp>

#include <weft/weft.hpp>
#include <weft/testing/waiters.hpp>

#include <string>
#include <utility>

namespace test {

inline weft::RuntimeOptions one_worker() { return weft::RuntimeOptions{.workers = 1, .name = "sync-test"}; }
inline weft::RuntimeOptions virtual_clock() {
    return weft::RuntimeOptions{.workers = 1, .name = "sync-test", .virtual_time = true};
}
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

}  // namespace test
