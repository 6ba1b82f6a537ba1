// SharedLock's slow paths. While kWaiters is set (always under guard_), no fast path can
// acquire, and the only fast release is a reader leaving while other readers remain; the last
// reader out, and any writer, release under guard_ and hand the lock to the queue's head
// (dispatch_locked). So the queue's order is the grant order.
#include <weft/shared_lock.hpp>

namespace weft {

using namespace detail;

void SharedLock::unlock() {
    if (!locked()) throw UsageError("weft::SharedLock::unlock(): the write lock is not held");
    if (owner_.load(memory_order_relaxed) != running_task())
        throw UsageError("weft::SharedLock::unlock(): the write lock is held by another task");
    release(false);
}

void SharedLock::unlock_shared() {
    if (readers() == 0) throw UsageError("weft::SharedLock::unlock_shared(): no reader holds the lock");
    release(true);
}

void SharedLock::release(bool shared) noexcept {
    std::uint64_t state = state_.load(memory_order_relaxed);
    if (shared) {
        // Fast unless this is the last reader and someone waits.
        while (!((state & kWaiters) && (state >> kReaderShift) == 1)) {
            if (state_.compare_exchange_weak(state, state - kOneReader, memory_order_release, memory_order_relaxed))
                return;
        }
    } else {
        owner_.store(nullptr, memory_order_relaxed);
        if (state == kWriter &&
            state_.compare_exchange_strong(state, 0, memory_order_release, memory_order_relaxed))
            return;
    }
    release_slow(shared);
}

void SharedLock::release_slow(bool shared) noexcept {
    SpinGuard locked(guard_);
    if (shared) {
        state_.fetch_sub(kOneReader, memory_order_release);
    } else {
        state_.fetch_and(~kWriter, memory_order_release);
    }
    dispatch_locked();
}

// Grants the lock to the head of the queue while it can: one writer, or a run of readers.
void SharedLock::dispatch_locked() noexcept {
    while (WaiterNode* head = waiters_.front()) {
        std::uint64_t state = state_.load(memory_order_relaxed);
        if (state & kWriter) break;
        if (head->tag == kWriterTag) {
            if ((state >> kReaderShift) != 0) break;
            waiters_.pop_front();
            state_.fetch_or(kWriter, memory_order_acquire);
            owner_.store(waiting_task(head->waker), memory_order_relaxed);
            wake_waiter(head, kGranted);
            break;
        }
        waiters_.pop_front();
        state_.fetch_add(kOneReader, memory_order_acquire);
        wake_waiter(head, kGranted);
    }
    if (waiters_.empty()) state_.fetch_and(~kWaiters, memory_order_relaxed);
}

bool SharedLock::enqueue_or_acquire(WaiterNode& node) noexcept {
    SpinGuard locked(guard_);
    bool shared = node.tag == kReaderTag;
    std::uint64_t state = state_.load(memory_order_relaxed);
    for (;;) {
        if (shared && !(state & (kWriter | kWaiters))) {
            if (state_.compare_exchange_weak(state, state + kOneReader, memory_order_acquire, memory_order_relaxed)) {
                complete_now(node, kGranted);
                return false;
            }
        } else if (!shared && state == 0) {
            if (state_.compare_exchange_weak(state, kWriter, memory_order_acquire, memory_order_relaxed)) {
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

// Under guard: the lock granted to a waiter cancelled before it ran goes on to the queue's
// head, as if that waiter had taken it and released it at once.
void SharedLock::give_back_locked(bool shared) noexcept {
    if (shared) {
        state_.fetch_sub(kOneReader, memory_order_release);
    } else {
        owner_.store(nullptr, memory_order_relaxed);
        state_.fetch_and(~kWriter, memory_order_release);
    }
    dispatch_locked();
}

void SharedLock::unlink(WaiterNode& node) noexcept {
    waiters_.remove(&node);
    dispatch_locked();  // a cancelled writer may have been holding back the readers behind it
}

}  // namespace weft
