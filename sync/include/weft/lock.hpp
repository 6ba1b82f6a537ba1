// weft::Lock (asyncio.Lock): a FIFO-fair mutual-exclusion lock for tasks.
//
//   weft::Lock lock;
//   weft::Task<> deposit(Account& account, int amount) {
//       auto held = co_await lock.lock();      // waits while another task holds it
//       account.balance += amount;             // awaiting in here is fine too
//   }                                          // `held` unlocks: the next waiter gets the lock
//
// Fair: unlock() hands the lock to the task that has waited longest; it resumes on a worker
// loop (never inside unlock()) already holding the lock, and no task arriving meanwhile can
// take it first. A lock is held by a task: unlock() from any other task throws UsageError, as
// does unlocking a lock nobody holds (a child awaited right after spawn() runs inline inside
// its joiner, but is still a task of its own). try_lock() and unlock() also work from plain threads
// (the holder is then "no task").
//
// Waiting is a cancellation point: a cancelled waiter never holds the lock afterwards. A
// cancel() that returned true wins even if the lock was handed to the waiter before it got to
// run (asyncio's rule): the waiter throws CancelledError and the lock goes to the next waiter,
// or is unlocked.
//
// Cost: lock() and unlock() without contention are one compare-and-swap each and take no OS
// lock. A waiter costs no allocation (the awaiter is the queue node). Before it queues, a
// lock() that finds the lock held by a task on another thread, with nobody queued, spins
// (with backoff) for as long as the lock keeps changing hands, and gives up once a single
// hold outlasts a few microseconds (that holder is likely suspended) or somebody queues.
// Critical sections are usually far shorter than a suspension, and a queued waiter turns
// every later lock() into a hand-off (a convoy); a spinner has not queued, so FIFO order
// among waiters is untouched.
#pragma once

#include <weft/detail/context.hpp>
#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/permits.hpp>
#include <weft/detail/sync_access.hpp>

namespace weft {

class Condition;

class Lock : private detail::Permits<detail::LockWord> {
public:
    class Guard;
    /// `co_await lock.lock()`; single use.
    using Awaiter = detail::PermitAwaiter<detail::LockWord, detail::LockWord::kAll, Guard>;

    Lock() noexcept = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    /// co_await it for a Guard that holds the lock.
    Awaiter lock() noexcept WEFT_LIFETIMEBOUND;
    /// Takes the lock if it is free and nobody is waiting for it. Unlock with unlock().
    bool try_lock() noexcept { return try_acquire(kAll, detail::running_task()); }
    /// Releases the lock taken with try_lock() (or a Guard's, which should rather unlock()).
    /// UsageError if the lock is not held, or is held by another task.
    void unlock();
    bool locked() const noexcept { return free(state()) == 0; }
    /// Whether the running task (or this plain thread) holds the lock.
    bool held_by_current_task() const noexcept { return locked() && owner() == detail::running_task(); }

private:
    friend class Condition;
    friend struct detail::SyncAccess;

    // Releases the lock without the ownership check (a Guard knows it holds it).
    void release() noexcept { Permits::release(kAll); }
    // Condition::wait re-acquires its lock with a wait that cancellation cannot end.
    Awaiter lock_uncancellable() noexcept;
};

/// Holds a Lock; unlocks it when destroyed (or at unlock()). Movable, so it may be returned
/// or handed to another task along with the lock. detach() stops managing the lock without
/// unlocking it: it stays held by this task, which must unlock() it later.
class [[nodiscard("the lock is released as soon as this guard is destroyed")]] Lock::Guard
    : public detail::PermitGuard<detail::LockWord, detail::LockWord::kAll> {
public:
    using PermitGuard::PermitGuard;
    explicit Guard(Lock& lock WEFT_LIFETIMEBOUND) noexcept : PermitGuard(lock, detail::adopt_permits) {}

    /// Unlocks early. UsageError if this guard no longer holds the lock.
    void unlock() { release_held("weft::Lock::Guard::unlock(): the guard does not hold the lock"); }
    bool owns_lock() const noexcept { return holds(); }
};

inline Lock::Awaiter Lock::lock() noexcept WEFT_LIFETIMEBOUND { return Awaiter(*this, "weft::Lock::lock()"); }
inline Lock::Awaiter Lock::lock_uncancellable() noexcept {
    return Awaiter(*this, "weft::Lock::lock()", Awaiter::Uncancellable{});
}

}  // namespace weft
