// Test helpers: how many tasks wait on a weft::sync primitive, so tests can wait for a state
// instead of sleeping.
//
//   auto a = weft::spawn(take(lock));                 // will block on the lock
//   co_await weft::testing::until_waiters(lock, 1);   // yields until it is queued
//   REQUIRE(weft::testing::waiters(lock) == 1);
//
// Works with every primitive of <weft/lock.hpp>, <weft/semaphore.hpp>, ... (a queue counts its
// getters, putters and joiners together).
#pragma once

#include <cstddef>

#include <weft/detail/sync_access.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

namespace weft::testing {

template <class Primitive>
std::size_t waiters(const Primitive& primitive) noexcept {
    return detail::SyncAccess::waiters(primitive);
}

/// Yields until at least `count` tasks wait on `primitive`.
template <class Primitive>
Task<void> until_waiters(const Primitive& primitive, std::size_t count) {
    while (waiters(primitive) < count) co_await yield_now();
}

}  // namespace weft::testing
