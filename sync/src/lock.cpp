// Lock's slow paths. State word: kLocked | kWaiters. The waiters bit is only set and cleared
// under guard_, and while it is set the fast paths fail (lock: CAS 0 -> kLocked; unlock: CAS
// kLocked -> 0), so every transition that involves the queue happens under guard_:
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
    if (owner_.load(memory_order_relaxed) != tls_context.task)
        throw UsageError("weft::Lock::unlock(): the lock is held by another task");
    release();
}

bool Lock::enqueue_or_acquire(WaiterNode& node) noexcept {
    SpinGuard locked(guard_);
    std::uint32_t state = state_.load(memory_order_relaxed);
    for (;;) {
        if (state == 0) {
            if (state_.compare_exchange_weak(state, kLocked, memory_order_acquire, memory_order_relaxed)) {
                owner_.store(node.waker.task, memory_order_relaxed);
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
    WaiterNode* next = waiters_.pop_front();
    if (!next) {
        state_.store(0, memory_order_release);  // the waiters were cancelled meanwhile
        return;
    }
    if (waiters_.empty()) state_.store(kLocked, memory_order_relaxed);
    owner_.store(next->waker.task, memory_order_relaxed);
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
