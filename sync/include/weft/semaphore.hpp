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

#include <cstddef>
#include <limits>

#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/permits.hpp>
#include <weft/detail/sync_access.hpp>

namespace weft {

class Semaphore : private detail::Permits<detail::CountWord> {
public:
    class Guard;
    /// `co_await semaphore.acquire()`; single use.
    using Awaiter = detail::PermitAwaiter<detail::CountWord, 1, Guard>;

    explicit Semaphore(std::size_t value = 1) : Semaphore(value, kUnbounded) {}
    Semaphore(const Semaphore&) = delete;
    Semaphore& operator=(const Semaphore&) = delete;

    /// co_await it for a Guard holding one permit.
    Awaiter acquire() noexcept WEFT_LIFETIMEBOUND;
    /// Takes a permit if one is free and nobody waits. Give it back with release().
    bool try_acquire() noexcept { return Permits::try_acquire(1, nullptr); }
    /// Returns `count` permits, waking that many waiters (oldest first). All or nothing: one
    /// that would pass the bound (BoundedSemaphore) throws UsageError and changes nothing.
    void release(std::size_t count = 1);
    /// asyncio's locked(): no permit can be taken right now without waiting.
    bool locked() const noexcept {
        std::uint64_t word = state();
        return free(word) == 0 || waiting(word);
    }
    /// Free permits.
    std::size_t value() const noexcept { return static_cast<std::size_t>(free(state())); }

protected:
    static constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();
    Semaphore(std::size_t value, std::size_t bound);

private:
    friend struct detail::SyncAccess;

    std::uint64_t bound_;
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

/// Holds one permit; releases it when destroyed (or at release()). detach() keeps the permit
/// taken: whoever got it must call Semaphore::release() later.
class [[nodiscard("the permit is released as soon as this guard is destroyed")]] Semaphore::Guard
    : public detail::PermitGuard<detail::CountWord, 1> {
public:
    using PermitGuard::PermitGuard;
    explicit Guard(Semaphore& semaphore WEFT_LIFETIMEBOUND) noexcept : PermitGuard(semaphore, detail::adopt_permits) {}

    /// Gives the permit back now.
    void release() { release_held("weft::Semaphore::Guard::release(): the guard holds no permit"); }
    bool owns_permit() const noexcept { return holds(); }
};

inline Semaphore::Awaiter Semaphore::acquire() noexcept WEFT_LIFETIMEBOUND {
    return Awaiter(*this, "weft::Semaphore::acquire()");
}

}  // namespace weft
