// weft::SharedLock: a read-write lock for tasks (many readers or one writer).
//
//   weft::SharedLock table_lock;
//   weft::Task<Row> lookup(Key k) {
//       auto reading = co_await table_lock.lock_shared();   // with other readers
//       co_return table.at(k);
//   }
//   // writer:  auto writing = co_await table_lock.lock();  table.insert(row);
//
// Fair (phase-fair FIFO): waiters are served in arrival order; a writer waits for the readers
// ahead of it, and readers that arrive while a writer waits queue behind that writer (so
// writers never starve). When the lock frees up, the first waiter gets it, together with every
// reader directly behind it if it is a reader. Woken tasks resume on worker loops, never
// inside unlock(). unlock() by a task that does not hold the write lock throws UsageError,
// and so does unlock_shared() when no reader holds it.
//
// Waiting is a cancellation point; a cancelled waiter holds nothing afterwards. A cancel() that
// returned true wins even if the lock was granted to the waiter before it got to run (asyncio's
// rule): the waiter throws CancelledError and the grant goes on to the waiters behind it, or
// back. Uncontended lock()/lock_shared() and their unlocks are one CAS each.
#pragma once

#include <cstddef>

#include <weft/detail/context.hpp>
#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/permits.hpp>
#include <weft/detail/sync_access.hpp>

namespace weft {

// A permit core with kAll permits: a reader takes one, a writer all of them.
class SharedLock : private detail::Permits<detail::CountWord> {
public:
    template <bool Shared>
    class Guard;
    /// `co_await lock.lock()` / `co_await lock.lock_shared()`; single use.
    template <bool Shared>
    using Awaiter = detail::PermitAwaiter<detail::CountWord, Shared ? 1 : detail::CountWord::kAll, Guard<Shared>>;
    using WriteGuard = Guard<false>;
    using ReadGuard = Guard<true>;

    SharedLock() noexcept : Permits(kAll) {}
    SharedLock(const SharedLock&) = delete;
    SharedLock& operator=(const SharedLock&) = delete;

    /// co_await it for the exclusive (write) lock: a WriteGuard.
    Awaiter<false> lock() noexcept WEFT_LIFETIMEBOUND;
    /// co_await it for a shared (read) lock: a ReadGuard.
    Awaiter<true> lock_shared() noexcept WEFT_LIFETIMEBOUND;
    bool try_lock() noexcept { return try_acquire(kAll, detail::running_task()); }
    bool try_lock_shared() noexcept { return try_acquire(1, nullptr); }
    /// Releases the write lock. UsageError unless the running task holds it.
    void unlock();
    /// Releases one read lock. UsageError if no reader holds it.
    void unlock_shared();

    /// Whether a writer holds it.
    bool locked() const noexcept { return free(state()) == 0; }
    /// How many readers hold it.
    std::size_t readers() const noexcept {
        std::uint64_t free_now = free(state());
        return free_now == 0 ? 0 : static_cast<std::size_t>(kAll - free_now);
    }

private:
    friend struct detail::SyncAccess;
};

/// Holds the lock (shared or exclusive) and releases it when destroyed (or at unlock()).
template <bool Shared>
class [[nodiscard("the lock is released as soon as this guard is destroyed")]] SharedLock::Guard
    : public detail::PermitGuard<detail::CountWord, Shared ? 1 : detail::CountWord::kAll> {
    using Base = detail::PermitGuard<detail::CountWord, Shared ? 1 : detail::CountWord::kAll>;

public:
    using Base::Base;
    explicit Guard(SharedLock& lock WEFT_LIFETIMEBOUND) noexcept : Base(lock, detail::adopt_permits) {}

    void unlock() { this->release_held("weft::SharedLock::Guard::unlock(): the guard does not hold the lock"); }
    bool owns_lock() const noexcept { return this->holds(); }
};

inline SharedLock::Awaiter<false> SharedLock::lock() noexcept WEFT_LIFETIMEBOUND {
    return Awaiter<false>(*this, "weft::SharedLock::lock()");
}
inline SharedLock::Awaiter<true> SharedLock::lock_shared() noexcept WEFT_LIFETIMEBOUND {
    return Awaiter<true>(*this, "weft::SharedLock::lock_shared()");
}

}  // namespace weft
