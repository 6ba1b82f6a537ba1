// weft::RateLimiter: a token bucket for tasks (Python's aiolimiter.AsyncLimiter, Tokio's
// governor): at most `burst` acquisitions at once, then `rate` per `per` on average.
//
//   weft::RateLimiter limiter({.rate = 10, .burst = 5});   // 10 per second, bursts of 5
//   weft::Task<> call(Api& api) {
//       co_await limiter.acquire();       // waits until a token is free (FIFO)
//       co_await api.get("/items");
//   }
//   if (limiter.try_acquire(3)) { ... }   // takes 3 tokens now, or none and returns false
//
// The bucket holds up to `burst` tokens (default: `rate`) and starts full; tokens refill
// continuously, `rate` every `per` (default 1 s), computed in exact integer arithmetic from
// weft::now() (so on the paused clock of the tests the instants are exact). Tokens are not
// given back: a limiter bounds the rate of starts, not the number running (that is a
// Semaphore).
//
// Fair (FIFO): acquire(n) requests are served in arrival order, whatever their size. A request
// for 5 tokens at the head of the line holds back the requests for 1 behind it until its 5
// have accrued (it is never starved by them), and a request arriving later never overtakes one
// that waits; try_acquire() fails while anyone waits. Only the head of the line sleeps (on a
// timer, until its tokens will have accrued); the others wait on a FIFO turnstile (a
// Semaphore), so a thousand waiters cost no timers. acquire(n) with n > burst can never be
// served: UsageError at once. acquire(0) returns at once.
//
// Cancellation (and wait_for) never loses a token: a request takes its tokens in one step
// when they are there, after its last await, so a cancelled waiter took nothing; the next
// waiter then becomes the head and computes its own instant. Resumes on a worker loop.
//
// Shared by tasks on every worker (its state is under a small lock); it must outlive every
// task waiting on it.
#pragma once

#include <chrono>
#include <cstdint>

#include <weft/detail/atomic.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/semaphore.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>

namespace weft {

class RateLimiter {
public:
    struct Options {
        std::uint64_t rate = 0;                                    // tokens added every `per`
        Clock::duration per = std::chrono::seconds(1);             // the refill period
        std::uint64_t burst = 0;                                   // bucket size; 0: `rate`
    };

    /// UsageError for rate 0, per <= 0, or a bucket too large to count in nanoseconds.
    explicit RateLimiter(Options options);
    RateLimiter(const RateLimiter&) = delete;
    RateLimiter& operator=(const RateLimiter&) = delete;

    /// Waits (FIFO) until `n` tokens are free, then takes them. UsageError if n > burst.
    Task<void> acquire(std::uint64_t n = 1);
    /// Takes `n` tokens if they are free now and nobody waits; else takes none.
    bool try_acquire(std::uint64_t n = 1);
    /// Whole tokens in the bucket now (waiters may be about to take them).
    std::uint64_t available();
    /// Tasks inside acquire() that have not got their tokens yet.
    std::size_t waiting() const noexcept { return waiting_.load(detail::memory_order_relaxed); }

    std::uint64_t rate() const noexcept { return rate_; }
    std::uint64_t burst() const noexcept { return burst_; }
    Clock::duration per() const noexcept { return Clock::duration(per_ns_); }

private:
    // Credit is counted in units of 1/per_ns_ token: a token is per_ns_ units and every
    // nanosecond adds rate_ units, so the refill is exact for any rate and period.
    void refill_locked(Clock::time_point at) noexcept;
    // Takes n tokens if there; else how long until they will be (ns, rounded up).
    bool take_locked(std::uint64_t n, std::int64_t& wait_ns) noexcept;

    std::uint64_t rate_;
    std::int64_t per_ns_;
    std::uint64_t burst_;
    std::uint64_t capacity_;  // burst_ * per_ns_ units

    detail::SpinLock guard_;     // credit_ and last_
    std::uint64_t credit_ = 0;   // units in the bucket at last_
    Clock::time_point last_{};   // when credit_ was computed
    bool started_ = false;       // the bucket fills at first use (weft::now() of the runtime)

    Semaphore turn_{1};  // the line: its holder is the head, the only one that sleeps
    detail::Atomic<std::size_t> waiting_{0};
};

}  // namespace weft
