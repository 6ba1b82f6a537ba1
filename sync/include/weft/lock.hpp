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

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/context.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>
#include <weft/error.hpp>

namespace weft {

class Condition;

class Lock {
public:
    class Guard;
    class Awaiter;

    Lock() noexcept = default;
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;

    /// co_await it for a Guard that holds the lock.
    Awaiter lock() noexcept WEFT_LIFETIMEBOUND;
    /// Takes the lock if it is free and nobody is waiting for it. Unlock with unlock().
    bool try_lock() noexcept { return try_acquire(detail::running_task()); }
    /// Releases the lock taken with try_lock() (or a Guard's, which should rather unlock()).
    /// UsageError if the lock is not held, or is held by another task.
    void unlock();
    bool locked() const noexcept { return (state_.load(detail::memory_order_relaxed) & kLocked) != 0; }
    /// Whether the running task (or this plain thread) holds the lock.
    bool held_by_current_task() const noexcept {
        return locked() && owner_.load(detail::memory_order_relaxed) == detail::running_task();
    }

private:
    friend class Condition;
    friend struct detail::SyncAccess;

    // State word: holder's thread tag << 32 | acquisitions << 2 | kWaiters | kLocked. The
    // acquisition count (wrapping) tells a spinner whether the lock is changing hands; the tag
    // says on which thread the holder took it (thread_tag()), published by the same CAS.
    static constexpr std::uint64_t kLocked = 1;   // held
    static constexpr std::uint64_t kWaiters = 2;  // waiters_ is not empty (set and cleared under guard_)
    static constexpr std::uint64_t kAcquired = 4;  // one more acquisition
    static constexpr std::uint64_t kCountMask = 0xffff'ffffu;
    static std::uint64_t thread_tag() noexcept {
        return (reinterpret_cast<std::uintptr_t>(&detail::tls_context) >> 4) << 32;
    }
    // The state after one more acquisition on this thread (kWaiters clear: callers add it).
    static std::uint64_t acquired(std::uint64_t state) noexcept {
        std::uint64_t count = state & kCountMask & ~(kLocked | kWaiters);
        return ((count + kAcquired) & kCountMask) | kLocked | thread_tag();
    }
    enum Outcome : std::uint8_t { kGranted = 1 };

    bool try_acquire(detail::TaskHeader* self) noexcept {
        return try_acquire_from(state_.load(detail::memory_order_relaxed), self);
    }
    bool try_acquire_from(std::uint64_t state, detail::TaskHeader* self) noexcept {
        if ((state & (kLocked | kWaiters)) ||
            !state_.compare_exchange_strong(state, acquired(state), detail::memory_order_acquire,
                                            detail::memory_order_relaxed))
            return false;
        owner_.store(self, detail::memory_order_relaxed);
        return true;
    }
    bool spin_acquire(detail::TaskHeader* self) noexcept;
    // Releases the lock without the ownership check (a Guard knows it holds it).
    void release() noexcept {
        owner_.store(nullptr, detail::memory_order_relaxed);
        std::uint64_t state = state_.load(detail::memory_order_relaxed);
        while (!(state & kWaiters)) {
            if (state_.compare_exchange_weak(state, state & ~kLocked, detail::memory_order_release,
                                             detail::memory_order_relaxed))
                return;
        }
        release_slow();
    }
    void release_slow() noexcept;
    void hand_on_locked() noexcept;  // to the first waiter, or unlocked; under guard_
    void pass_on_locked() noexcept;  // a waiter handed the lock was cancelled: it goes on
    bool enqueue_or_acquire(detail::WaiterNode& node) noexcept;  // true: queued
    void unlink(detail::WaiterNode& node) noexcept;               // a cancelled waiter, under guard_
    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }

    detail::Atomic<std::uint64_t> state_{0};
    detail::Atomic<detail::TaskHeader*> owner_{nullptr};
    mutable detail::SpinLock guard_;
    detail::WaiterQueue waiters_{guard_};
};

/// Holds a Lock; unlocks it when destroyed (or at unlock()). Movable, so it may be returned
/// or handed to another task along with the lock.
class [[nodiscard("the lock is released as soon as this guard is destroyed")]] Lock::Guard {
public:
    Guard() noexcept = default;
    explicit Guard(Lock& lock WEFT_LIFETIMEBOUND) noexcept : lock_(&lock) {}
    Guard(Guard&& other) noexcept : lock_(std::exchange(other.lock_, nullptr)) {}
    Guard& operator=(Guard&& other) noexcept {
        if (this != &other) {
            reset();
            lock_ = std::exchange(other.lock_, nullptr);
        }
        return *this;
    }
    ~Guard() { reset(); }

    /// Unlocks early. UsageError if this guard no longer holds the lock.
    void unlock() {
        if (!lock_) throw UsageError("weft::Lock::Guard::unlock(): the guard does not hold the lock");
        reset();
    }
    /// Stops managing the lock without unlocking it: it stays held by this task, which must
    /// unlock() it later.
    void detach() noexcept { lock_ = nullptr; }
    bool owns_lock() const noexcept { return lock_ != nullptr; }

private:
    void reset() noexcept {
        if (lock_) std::exchange(lock_, nullptr)->release();
    }
    Lock* lock_ = nullptr;
};

/// `co_await lock.lock()`; single use.
class [[nodiscard("co_await it")]] Lock::Awaiter : private detail::WaiterNode {
public:
    explicit Awaiter(Lock& lock WEFT_LIFETIMEBOUND) noexcept : lock_(lock) {}

    bool await_ready() noexcept {
        detail::TaskHeader* self = detail::running_task();
        if (!lock_.try_acquire(self) && !lock_.spin_acquire(self)) return false;
        detail::complete_now(*this, kGranted);
        return detail::coop_spend();
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        if (detail::completed(*this)) {  // taken in await_ready, but the budget is spent
            detail::coop_yield_suspend(awaiting);
            return true;
        }
        if (!cancellable_) return suspend_uncancellable(awaiting);
        return detail::suspend_waiter(*this, "weft::Lock::lock()", awaiting,
                                      [this] { return lock_.enqueue_or_acquire(*this); });
    }
    Guard await_resume() {
        if (!cancellable_) {  // (Condition's re-acquire: only the hand-off ends it)
            detail::settle_wait(*this, lock_.guard_, [] {});
            return Guard(lock_);
        }
        if (!detail::settle_wait(*this, lock_.guard_, [this] { lock_.unlink(*this); },
                                 [this] { lock_.pass_on_locked(); }))
            detail::throw_cancelled();
        return Guard(lock_);
    }

private:
    friend class Condition;
    struct Uncancellable {};
    // Condition::wait re-acquires its lock with a wait that cancellation cannot end.
    Awaiter(Lock& lock, Uncancellable) noexcept : lock_(lock), cancellable_(false) {}
    bool suspend_uncancellable(std::coroutine_handle<> awaiting);

    Lock& lock_;
    bool cancellable_ = true;
};

inline Lock::Awaiter Lock::lock() noexcept WEFT_LIFETIMEBOUND { return Awaiter(*this); }

}  // namespace weft
