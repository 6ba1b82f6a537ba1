// Lock's slow paths. State word: acquisitions << 2 | kWaiters | kLocked. The waiters bit is
// only set and cleared under guard_, and while it is set the fast paths fail (lock: CAS from
// "neither bit"; unlock: CAS clearing kLocked with kWaiters clear), so every transition that
// involves the queue happens under guard_:
//  - a waiter sets kWaiters and links itself under guard_; an unlocker that saw the bit takes
//    guard_ afterwards, so it sees the node;
//  - unlock hands off: the state stays kLocked (the new owner is the first waiter) and the bit
//    is cleared when the queue empties;
//  - a cancelled waiter unlinks itself under guard_ and clears the bit if it was the last; an
//    unlocker that saw the bit earlier then finds the queue empty and frees the lock.
#include <weft/lock.hpp>

namespace weft {

using namespace detail;

void Lock::unlock() {
    if (!locked()) throw UsageError("weft::Lock::unlock(): the lock is not locked");
    if (owner_.load(memory_order_relaxed) != running_task())
        throw UsageError("weft::Lock::unlock(): the lock is held by another task");
    release();
}

// Spinning (see lock.hpp). Pauses double up to kMaxPause between looks at the state word, so
// the holder keeps the cache line most of the time. Gives up when somebody queues (FIFO), when
// one hold has lasted kStallPauses (its holder is likely suspended, or its thread preempted),
// or after kMaxPauses in all. Skipped when the holder took the lock on this thread (the tag in
// the state word): it cannot be running now.
bool Lock::spin_acquire(TaskHeader* self) noexcept {
    constexpr unsigned kMaxPause = 64, kStallPauses = 512, kMaxPauses = 8192;
    std::uint64_t seen = state_.load(memory_order_relaxed);
    if ((seen & kLocked) && (seen & ~kCountMask) == thread_tag()) return false;
    unsigned pause = 1, stalled = 0;
    for (unsigned total = 0; total < kMaxPauses; total += pause) {
        for (unsigned i = 0; i < pause; ++i) cpu_relax();
        std::uint64_t state = state_.load(memory_order_relaxed);
        if (state & kWaiters) return false;
        if (try_acquire_from(state, self)) return true;
        if ((state | kLocked) != (seen | kLocked)) {  // it changed hands: the holders are running
            seen = state;
            stalled = 0;
        } else if ((stalled += pause) >= kStallPauses) {
            return false;
        }
        if (pause < kMaxPause) pause *= 2;
    }
    return false;
}

bool Lock::enqueue_or_acquire(WaiterNode& node) noexcept {
    SpinGuard locked(guard_);
    std::uint64_t state = state_.load(memory_order_relaxed);
    for (;;) {
        if (!(state & (kLocked | kWaiters))) {
            if (state_.compare_exchange_weak(state, acquired(state), memory_order_acquire, memory_order_relaxed)) {
                owner_.store(waiting_task(node.waker), memory_order_relaxed);
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

void Lock::release_slow() noexcept {
    SpinGuard locked(guard_);
    hand_on_locked();
}

void Lock::pass_on_locked() noexcept {
    owner_.store(nullptr, memory_order_relaxed);
    hand_on_locked();
}

void Lock::hand_on_locked() noexcept {
    WaiterNode* next = waiters_.pop_front();
    if (!next) {
        state_.fetch_and(~kLocked, memory_order_release);  // the waiters were cancelled meanwhile
        return;
    }
    // Hand-off: still locked, one more acquisition, tagged with this thread (wake() queues the
    // new holder on this worker); no waiters bit once the queue is empty. Nothing else changes
    // the word while kWaiters is set, so a plain store is enough.
    std::uint64_t state = acquired(state_.load(memory_order_relaxed));
    state_.store(waiters_.empty() ? state : state | kWaiters, memory_order_relaxed);
    owner_.store(waiting_task(next->waker), memory_order_relaxed);
    wake_waiter(next, kGranted);  // hand-off: it resumes holding the lock
}

void Lock::unlink(WaiterNode& node) noexcept {
    waiters_.remove(&node);
    if (waiters_.empty()) state_.fetch_and(~kWaiters, memory_order_relaxed);
}

bool Lock::Awaiter::suspend_uncancellable(std::coroutine_handle<> awaiting) {
    TaskHeader* self = current_task_or_throw("weft::Lock::lock()");
    waker = prepare_uncancellable_suspend(self, awaiting);
    return lock_.enqueue_or_acquire(*this);
}

}  // namespace weft
