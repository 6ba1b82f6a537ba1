// weft::Condition (asyncio.Condition): wait for a notification while holding a Lock.
//
//   weft::Condition changed;                          // owns its Lock (or Condition(lock))
//   weft::Task<> consumer() {
//       auto held = co_await changed.lock();
//       co_await changed.wait_for([&] { return !jobs.empty(); });   // lock released while waiting
//       run(take(jobs));                              // lock held again here
//   }
//   // producer, holding the lock:  jobs.push(j); changed.notify();
//
// wait() releases the lock, waits for notify()/notify_all(), and re-acquires the lock before
// it returns, also when it throws. notify(n) wakes the n longest waiters (fewer if fewer wait);
// they resume on worker loops, never inside notify(), and only then queue for the lock (FIFO).
// wait() and notify() need the lock held by the calling task (UsageError otherwise).
//
// Cancellation: wait() is a cancellation point. A cancelled wait still re-acquires the lock
// before throwing (asyncio's rule, so the caller's guard stays truthful). A cancel() that
// returned true wins even if the waiter was notified before it got to run, or while it queued
// for the lock again: it throws, and the notification goes to the next waiter (if one waits),
// so it is not lost (asyncio 3.13).
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>
#include <weft/lock.hpp>
#include <weft/task.hpp>

namespace weft {

class Condition {
public:
    /// A condition with a Lock of its own.
    Condition() noexcept : lock_(&own_lock_) {}
    /// A condition over `lock`, which must outlive it (several conditions may share one lock).
    explicit Condition(Lock& lock WEFT_LIFETIMEBOUND) noexcept : lock_(&lock) {}
    Condition(const Condition&) = delete;
    Condition& operator=(const Condition&) = delete;

    /// co_await it to take the underlying lock (a Lock::Guard).
    Lock::Awaiter lock() noexcept WEFT_LIFETIMEBOUND { return lock_->lock(); }
    bool try_lock() noexcept { return lock_->try_lock(); }
    void unlock() { lock_->unlock(); }
    bool locked() const noexcept { return lock_->locked(); }
    Lock& underlying_lock() noexcept { return *lock_; }

    /// Releases the lock, waits for a notification, re-acquires the lock.
    Task<void> wait();

    /// Waits until `predicate()` is truthy (checked first, then after each wake-up, always with
    /// the lock held) and returns its last value.
    template <class Predicate>
    Task<std::invoke_result_t<Predicate&>> wait_for(Predicate predicate) {
        auto result = predicate();
        while (!result) {
            co_await wait();
            result = predicate();
        }
        co_return result;
    }

    /// Wakes up to `count` waiting tasks, longest-waiting first.
    void notify(std::size_t count = 1);
    /// Wakes every waiting task.
    void notify_all();

private:
    friend struct detail::SyncAccess;
    class NotifyAwaiter;
    enum Outcome : std::uint8_t { kNotified = 1 };

    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }

    Lock own_lock_;
    Lock* lock_;
    mutable detail::SpinLock guard_;
    detail::WaiterQueue waiters_{guard_};
};

}  // namespace weft
