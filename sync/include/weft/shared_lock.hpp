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
// Waiting is a cancellation point; a cancelled waiter holds nothing afterwards (or, if the
// lock was granted at that moment, returns its guard normally: the cancellation comes at the
// next await). Uncontended lock()/lock_shared() and their unlocks are one CAS each.
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

class SharedLock {
public:
    template <bool Shared>
    class Guard;
    template <bool Shared>
    class Awaiter;
    using WriteGuard = Guard<false>;
    using ReadGuard = Guard<true>;

    SharedLock() noexcept = default;
    SharedLock(const SharedLock&) = delete;
    SharedLock& operator=(const SharedLock&) = delete;

    /// co_await it for the exclusive (write) lock: a WriteGuard.
    Awaiter<false> lock() noexcept WEFT_LIFETIMEBOUND;
    /// co_await it for a shared (read) lock: a ReadGuard.
    Awaiter<true> lock_shared() noexcept WEFT_LIFETIMEBOUND;
    bool try_lock() noexcept { return try_acquire(false, detail::running_task()); }
    bool try_lock_shared() noexcept { return try_acquire(true, nullptr); }
    /// Releases the write lock. UsageError unless the running task holds it.
    void unlock();
    /// Releases one read lock. UsageError if no reader holds it.
    void unlock_shared();

    /// Whether a writer holds it.
    bool locked() const noexcept { return (state_.load(detail::memory_order_relaxed) & kWriter) != 0; }
    /// How many readers hold it.
    std::size_t readers() const noexcept {
        return static_cast<std::size_t>(state_.load(detail::memory_order_relaxed) >> kReaderShift);
    }

private:
    friend struct detail::SyncAccess;

    // State word: readers << 2 | kWaiters | kWriter. kWaiters (set and cleared under guard_)
    // makes every fast path but "a reader leaves while others still read" fail.
    static constexpr std::uint64_t kWriter = 1;
    static constexpr std::uint64_t kWaiters = 2;
    static constexpr int kReaderShift = 2;
    static constexpr std::uint64_t kOneReader = std::uint64_t{1} << kReaderShift;
    enum Outcome : std::uint8_t { kGranted = 1 };
    enum Tag : std::uint8_t { kWriterTag = 0, kReaderTag = 1 };

    bool try_acquire(bool shared, detail::TaskHeader* self) noexcept {
        std::uint64_t state = state_.load(detail::memory_order_relaxed);
        if (shared) {
            while (!(state & (kWriter | kWaiters))) {
                if (state_.compare_exchange_weak(state, state + kOneReader, detail::memory_order_acquire,
                                                 detail::memory_order_relaxed))
                    return true;
            }
            return false;
        }
        if (state != 0 ||
            !state_.compare_exchange_strong(state, kWriter, detail::memory_order_acquire, detail::memory_order_relaxed))
            return false;
        owner_.store(self, detail::memory_order_relaxed);
        return true;
    }
    void release(bool shared) noexcept;  // no ownership check
    void release_slow(bool shared) noexcept;
    bool enqueue_or_acquire(detail::WaiterNode& node) noexcept;  // true: queued
    void unlink(detail::WaiterNode& node) noexcept;
    void give_back_locked(bool shared) noexcept;  // a grant whose waiter was cancelled first
    void dispatch_locked() noexcept;
    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }

    detail::Atomic<std::uint64_t> state_{0};
    detail::Atomic<detail::TaskHeader*> owner_{nullptr};  // the writer
    mutable detail::SpinLock guard_;
    detail::WaiterQueue waiters_{guard_};
};

/// Holds the lock (shared or exclusive) and releases it when destroyed.
template <bool Shared>
class [[nodiscard("the lock is released as soon as this guard is destroyed")]] SharedLock::Guard {
public:
    Guard() noexcept = default;
    explicit Guard(SharedLock& lock WEFT_LIFETIMEBOUND) noexcept : lock_(&lock) {}
    Guard(Guard&& other) noexcept : lock_(std::exchange(other.lock_, nullptr)) {}
    Guard& operator=(Guard&& other) noexcept {
        if (this != &other) {
            reset();
            lock_ = std::exchange(other.lock_, nullptr);
        }
        return *this;
    }
    ~Guard() { reset(); }

    void unlock() {
        if (!lock_) throw UsageError("weft::SharedLock::Guard::unlock(): the guard does not hold the lock");
        reset();
    }
    void detach() noexcept { lock_ = nullptr; }
    bool owns_lock() const noexcept { return lock_ != nullptr; }

private:
    void reset() noexcept {
        if (lock_) std::exchange(lock_, nullptr)->release(Shared);
    }
    SharedLock* lock_ = nullptr;
};

/// `co_await lock.lock()` / `co_await lock.lock_shared()`; single use.
template <bool Shared>
class [[nodiscard("co_await it")]] SharedLock::Awaiter : private detail::WaiterNode {
public:
    explicit Awaiter(SharedLock& lock WEFT_LIFETIMEBOUND) noexcept : lock_(lock) { tag = Shared ? kReaderTag : kWriterTag; }

    bool await_ready() noexcept {
        if (!lock_.try_acquire(Shared, detail::running_task())) return false;
        detail::complete_now(*this, kGranted);
        return true;
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        return detail::suspend_waiter(*this, Shared ? "weft::SharedLock::lock_shared()" : "weft::SharedLock::lock()",
                                      awaiting, [this] { return lock_.enqueue_or_acquire(*this); });
    }
    Guard<Shared> await_resume() {
        if (!detail::settle_wait(*this, lock_.guard_, [this] { lock_.unlink(*this); },
                                 [this] { lock_.give_back_locked(Shared); }))
            detail::throw_cancelled();
        return Guard<Shared>(lock_);
    }

private:
    SharedLock& lock_;
};

inline SharedLock::Awaiter<false> SharedLock::lock() noexcept WEFT_LIFETIMEBOUND { return Awaiter<false>(*this); }
inline SharedLock::Awaiter<true> SharedLock::lock_shared() noexcept WEFT_LIFETIMEBOUND { return Awaiter<true>(*this); }

}  // namespace weft
