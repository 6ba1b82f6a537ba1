// weft::Semaphore and weft::BoundedSemaphore (asyncio.Semaphore / BoundedSemaphore): a counter
// of permits for tasks.
//
//   weft::Semaphore slots(10);                  // at most 10 downloads at a time
//   weft::Task<> download(Url url) {
//       auto permit = co_await slots.acquire(); // waits while all 10 are taken
//       co_await fetch(url);
//   }                                           // `permit` releases: the next waiter gets it
//
// FIFO-fair: release() hands the permit straight to the task that has waited longest; it
// resumes on a worker loop (never inside release()). While tasks wait, acquire() and
// try_acquire() never take a permit ahead of them (locked() is then true).
// BoundedSemaphore(n) throws UsageError from a release() that would raise the count above n.
//
// Waiting is a cancellation point and never leaks a permit: a cancelled waiter holds none. A
// cancel() that returned true wins even if the permit was granted before the waiter got to run
// (asyncio's rule): the waiter throws CancelledError and the permit goes to the next waiter, or
// back to the count.
//
// Cost: acquire()/release() without waiters are one compare-and-swap each, no OS lock.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>
#include <weft/error.hpp>

namespace weft {

class Semaphore {
public:
    class Guard;
    class Awaiter;

    explicit Semaphore(std::size_t value = 1) : Semaphore(value, kUnbounded) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    /// co_await it for a Guard holding one permit.
    Awaiter acquire() noexcept WEFT_LIFETIMEBOUND;
    /// Takes a permit if one is free and nobody waits. Give it back with release().
    bool try_acquire() noexcept;
    /// Returns `count` permits, waking that many waiters (oldest first).
    void release(std::size_t count = 1);
    /// asyncio's locked(): no permit can be taken right now without waiting.
    bool locked() const noexcept {
        std::uint64_t state = state_.load(detail::memory_order_relaxed);
        return (state >> kValueShift) == 0 || (state & kWaiters) != 0;
    }
    /// Free permits.
    std::size_t value() const noexcept {
        return static_cast<std::size_t>(state_.load(detail::memory_order_relaxed) >> kValueShift);
    }

protected:
    static constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();
    Semaphore(std::size_t value, std::size_t bound);

private:
    friend struct detail::SyncAccess;

    // State word: free permits << 1 | kWaiters (waiters_ is not empty; changed under guard_).
    static constexpr std::uint64_t kWaiters = 1;
    static constexpr int kValueShift = 1;
    static constexpr std::uint64_t kOne = std::uint64_t{1} << kValueShift;
    enum Outcome : std::uint8_t { kGranted = 1 };

    void release_one(bool checked);
    void release_slow(bool checked);
    bool enqueue_or_acquire(detail::WaiterNode& node) noexcept;  // true: queued
    void unlink(detail::WaiterNode& node) noexcept;
    void pass_on_locked() noexcept;  // a granted waiter was cancelled: its permit goes on
    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }

    detail::Atomic<std::uint64_t> state_;
    std::size_t bound_;
    mutable detail::SpinLock guard_;
    detail::WaiterQueue waiters_{guard_};
};

/// A Semaphore whose release() throws UsageError rather than raise the count above its
/// initial value (asyncio.BoundedSemaphore): catches a permit given back twice.
///
///   weft::BoundedSemaphore pool(2);
///   auto permit = co_await pool.acquire();   // exactly a Semaphore otherwise
///   pool.release();                          // fine: gives back permit's... by hand
///   pool.release();                          // UsageError: the count would reach 3
///   permit.detach();                         // (its permit was already given back)
class BoundedSemaphore : public Semaphore {
public:
    explicit BoundedSemaphore(std::size_t value = 1) : Semaphore(value, value) {}
};

/// Holds one permit; releases it when destroyed (or at release()).
class [[nodiscard("the permit is released as soon as this guard is destroyed")]] Semaphore::Guard {
public:
    Guard() noexcept = default;
    explicit Guard(Semaphore& semaphore WEFT_LIFETIMEBOUND) noexcept : semaphore_(&semaphore) {}
    Guard(Guard&& other) noexcept : semaphore_(std::exchange(other.semaphore_, nullptr)) {}
    Guard& operator=(Guard&& other) noexcept {
        if (this != &other) {
            reset();
            semaphore_ = std::exchange(other.semaphore_, nullptr);
        }
        return *this;
    }
    ~Guard() { reset(); }

    /// Gives the permit back now.
    void release() {
        if (!semaphore_) throw UsageError("weft::Semaphore::Guard::release(): the guard holds no permit");
        reset();
    }
    /// Keeps the permit taken: whoever got it must call Semaphore::release() later.
    void detach() noexcept { semaphore_ = nullptr; }
    bool owns_permit() const noexcept { return semaphore_ != nullptr; }

private:
    void reset() noexcept {
        if (semaphore_) std::exchange(semaphore_, nullptr)->release_one(/*checked=*/false);
    }
    Semaphore* semaphore_ = nullptr;
};

/// `co_await semaphore.acquire()`; single use.
class [[nodiscard("co_await it")]] Semaphore::Awaiter : private detail::WaiterNode {
public:
    explicit Awaiter(Semaphore& semaphore WEFT_LIFETIMEBOUND) noexcept : semaphore_(semaphore) {}

    bool await_ready() noexcept {
        if (!semaphore_.try_acquire()) return false;
        detail::complete_now(*this, kGranted);
        return detail::coop_spend();
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        if (detail::completed(*this)) {  // taken in await_ready, but the budget is spent
            detail::coop_yield_suspend(awaiting);
            return true;
        }
        return detail::suspend_waiter(*this, "weft::Semaphore::acquire()", awaiting,
                                      [this] { return semaphore_.enqueue_or_acquire(*this); });
    }
    Guard await_resume() {
        if (!detail::settle_wait(*this, semaphore_.guard_, [this] { semaphore_.unlink(*this); },
                                 [this] { semaphore_.pass_on_locked(); }))
            detail::throw_cancelled();
        return Guard(semaphore_);
    }

private:
    Semaphore& semaphore_;
};

inline Semaphore::Awaiter Semaphore::acquire() noexcept WEFT_LIFETIMEBOUND { return Awaiter(*this); }

inline bool Semaphore::try_acquire() noexcept {
    std::uint64_t state = state_.load(detail::memory_order_relaxed);
    while (state >= kOne && !(state & kWaiters)) {
        if (state_.compare_exchange_weak(state, state - kOne, detail::memory_order_acquire,
                                         detail::memory_order_relaxed))
            return true;
    }
    return false;
}

}  // namespace weft
