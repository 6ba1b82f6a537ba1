// Semaphore's slow paths. State word: permits << 1 | kWaiters, the same scheme as Lock: the
// waiters bit is set and cleared under guard_, and while it is set the fast paths fail
// (try_acquire needs it clear; release() goes to release_slow()), so a released permit is
// either counted (no waiter) or handed to the first waiter under guard_ (never both).
// Invariant: permits > 0 implies no waiter (a release with waiters grants, it does not count).
#include <weft/semaphore.hpp>

#include <string>

namespace weft {

using namespace detail;

Semaphore::Semaphore(std::size_t value, std::size_t bound)
    : state_(static_cast<std::uint64_t>(value) << kValueShift), bound_(bound) {
    if (value > (std::numeric_limits<std::uint64_t>::max() >> kValueShift))
        throw UsageError("weft::Semaphore: initial value too large");
}

void Semaphore::release(std::size_t count) {
    for (std::size_t i = 0; i < count; ++i) release_one(/*checked=*/true);
}

void Semaphore::release_one(bool checked) {
    std::uint64_t state = state_.load(memory_order_relaxed);
    for (;;) {
        if (state & kWaiters) {
            release_slow(checked);
            return;
        }
        if (checked && (state >> kValueShift) >= bound_)
            throw UsageError("weft::BoundedSemaphore released too many times (above its initial value " +
                             std::to_string(bound_) + ")");
        if (state_.compare_exchange_weak(state, state + kOne, memory_order_release, memory_order_relaxed)) return;
    }
}

void Semaphore::release_slow(bool checked) {
    SpinGuard locked(guard_);
    if (checked && bound_ == 0) throw UsageError("weft::BoundedSemaphore released too many times (above 0)");
    if (WaiterNode* next = waiters_.pop_front()) {
        if (waiters_.empty()) state_.fetch_and(~kWaiters, memory_order_relaxed);
        wake_waiter(next, kGranted);  // the permit goes straight to it
        return;
    }
    // Every waiter was cancelled since we saw the bit (they cleared it): count the permit.
    std::uint64_t state = state_.load(memory_order_relaxed);
    do {
        if (checked && (state >> kValueShift) >= bound_)
            throw UsageError("weft::BoundedSemaphore released too many times (above its initial value " +
                             std::to_string(bound_) + ")");
    } while (!state_.compare_exchange_weak(state, state + kOne, memory_order_release, memory_order_relaxed));
}

bool Semaphore::enqueue_or_acquire(WaiterNode& node) noexcept {
    SpinGuard locked(guard_);
    std::uint64_t state = state_.load(memory_order_relaxed);
    for (;;) {
        if (state >= kOne) {  // a permit is free, so (invariant) nobody waits
            if (state_.compare_exchange_weak(state, state - kOne, memory_order_acquire, memory_order_relaxed)) {
                complete_now(node, kGranted);
                return false;
            }
        } else if (state & kWaiters) {
            break;
        } else if (state_.compare_exchange_weak(state, state | kWaiters, memory_order_relaxed)) {
            break;
        }
    }
    enqueue(waiters_, node);
    return true;
}

void Semaphore::pass_on_locked() noexcept {
    if (WaiterNode* next = waiters_.pop_front()) {
        if (waiters_.empty()) state_.fetch_and(~kWaiters, memory_order_relaxed);
        wake_waiter(next, kGranted);
        return;
    }
    state_.fetch_add(kOne, memory_order_release);  // nobody waits (so no kWaiters): count it
}

void Semaphore::unlink(WaiterNode& node) noexcept {
    waiters_.remove(&node);
    if (waiters_.empty()) state_.fetch_and(~kWaiters, memory_order_relaxed);
}

}  // namespace weft
