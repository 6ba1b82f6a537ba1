// Test-only access to a primitive's insides (see <weft/testing/waiters.hpp>). Every primitive
// befriends SyncAccess; nothing else uses it.
#pragma once

#include <cstddef>

#include <weft/detail/spin_lock.hpp>

namespace weft::detail {

struct SyncAccess {
    // How many tasks are queued on `primitive` right now (all its waiter queues together).
    template <class Primitive>
    static std::size_t waiters(const Primitive& primitive) noexcept {
        if constexpr (requires { primitive.shared_core(); }) {  // a handle to shared state (Future)
            return waiters(primitive.shared_core());
        } else {
            SpinGuard locked(primitive.guard_);
            return primitive.waiter_count_locked();
        }
    }
};

}  // namespace weft::detail
