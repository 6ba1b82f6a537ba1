// RateLimiter: a FIFO turnstile (a Semaphore of one) in front of an integer token bucket.
// The turnstile's holder is the head of the line: it alone computes when its tokens will be
// there and sleeps until then, so order is the Semaphore's (FIFO, no barging), and a head
// cancelled in its sleep gives the turnstile to the next in line having taken nothing.
#include <weft/rate_limiter.hpp>

#include <limits>
#include <string>

#include <weft/error.hpp>

namespace weft {

namespace {
struct Leaving {  // counts a task out of waiting() however acquire() ends
    detail::Atomic<std::size_t>& waiting;
    ~Leaving() { waiting.fetch_sub(1, detail::memory_order_relaxed); }
};
}  // namespace

RateLimiter::RateLimiter(Options options)
    : rate_(options.rate),
      per_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(options.per).count()),
      burst_(options.burst ? options.burst : options.rate),
      capacity_(0) {
    if (rate_ == 0) throw UsageError("weft::RateLimiter: rate must be at least 1 token per period");
    if (per_ns_ <= 0) throw UsageError("weft::RateLimiter: the period `per` must be positive");
    if (burst_ > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(per_ns_))
        throw UsageError("weft::RateLimiter: burst * per is too large to count in nanoseconds");
    capacity_ = burst_ * static_cast<std::uint64_t>(per_ns_);
}

void RateLimiter::refill_locked(Clock::time_point at) noexcept {
    if (!started_) {
        started_ = true;
        credit_ = capacity_;
        last_ = at;
        return;
    }
    if (at <= last_) return;
    const auto elapsed =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(at - last_).count());
    last_ = at;
    const std::uint64_t room = capacity_ - credit_;
    // elapsed * rate_ without overflow: beyond room / rate_ nanoseconds the bucket is full.
    credit_ = elapsed > room / rate_ ? capacity_ : credit_ + elapsed * rate_;
    if (credit_ > capacity_) credit_ = capacity_;
}

bool RateLimiter::take_locked(std::uint64_t n, std::int64_t& wait_ns) noexcept {
    const std::uint64_t need = n * static_cast<std::uint64_t>(per_ns_);  // <= capacity_: n <= burst_
    if (credit_ >= need) {
        credit_ -= need;
        return true;
    }
    wait_ns = static_cast<std::int64_t>((need - credit_ + rate_ - 1) / rate_);
    return false;
}

Task<void> RateLimiter::acquire(std::uint64_t n) {
    if (n > burst_)
        throw UsageError("weft::RateLimiter::acquire(" + std::to_string(n) + "): more than the burst of " +
                         std::to_string(burst_) + " tokens, so it could never be served");
    if (n == 0) co_return;
    waiting_.fetch_add(1, detail::memory_order_relaxed);
    Leaving leaving{waiting_};
    auto head = co_await turn_.acquire();  // FIFO: our turn once everyone before us is served
    for (;;) {
        std::int64_t wait_ns = 0;
        {
            detail::SpinGuard locked(guard_);
            refill_locked(now());
            if (take_locked(n, wait_ns)) break;  // no await after this: a cancellation cannot lose them
        }
        co_await sleep(std::chrono::nanoseconds(wait_ns));
    }
}

bool RateLimiter::try_acquire(std::uint64_t n) {
    if (n > burst_)
        throw UsageError("weft::RateLimiter::try_acquire(" + std::to_string(n) + "): more than the burst of " +
                         std::to_string(burst_) + " tokens");
    if (n == 0) return true;
    if (!turn_.try_acquire()) return false;  // someone waits (or is being served): no overtaking
    bool taken = false;
    {
        detail::SpinGuard locked(guard_);
        refill_locked(now());
        std::int64_t wait_ns = 0;
        taken = take_locked(n, wait_ns);
    }
    turn_.release();
    return taken;
}

std::uint64_t RateLimiter::available() {
    detail::SpinGuard locked(guard_);
    refill_locked(now());
    return credit_ / static_cast<std::uint64_t>(per_ns_);
}

}  // namespace weft
