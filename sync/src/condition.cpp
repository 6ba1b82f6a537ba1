// Condition::wait in two steps: (1) NotifyAwaiter links the task on the condition's queue and
// only then releases the lock, so a notify() issued by the next holder always finds it (no
// lost wake-up between "unlock" and "wait"); (2) the task re-acquires the lock with a wait that
// cancellation cannot end, so wait() never returns or throws without the lock; a cancellation
// that came meanwhile is raised once the lock is back.
#include <weft/condition.hpp>

#include <exception>

namespace weft {

using namespace detail;

class Condition::NotifyAwaiter : private WaiterNode {
public:
    explicit NotifyAwaiter(Condition& condition) noexcept : condition_(condition) {}

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        return suspend_waiter(
            *this, "weft::Condition::wait()", awaiting,
            [this] {
                {
                    SpinGuard locked(condition_.guard_);
                    enqueue(condition_.waiters_, *this);
                }
                released_ = true;
                condition_.lock_->release();  // a notify() from the next holder finds us queued
                return true;
            },
            &condition_);
    }
    void await_resume() {
        // The condition was destroyed while we waited: settle_wait throws UsageError.
        abandoned_ = state.load(memory_order_acquire) == WaitState::abandoned;
        // Notified, but cancelled before it ran: the notification goes to the next waiter.
        if (!settle_wait(
                *this, condition_.guard_, [this] { condition_.waiters_.remove(this); },
                [this] {
                    if (WaiterNode* next = condition_.waiters_.pop_front()) wake_waiter(next, kNotified);
                }))
            throw_cancelled();
    }
    bool released() const noexcept { return released_; }
    bool abandoned() const noexcept { return abandoned_; }

private:
    Condition& condition_;
    bool released_ = false;
    bool abandoned_ = false;
};

Task<void> Condition::wait() {
    if (!lock_->held_by_current_task())
        throw UsageError("weft::Condition::wait(): the condition's lock is not held by this task");
    std::exception_ptr error;
    Lock* lock = lock_;  // (a copy: `this` may be gone when the wait ends, see below)
    const bool own_lock = lock == &own_lock_;
    NotifyAwaiter notified(*this);
    try {
        co_await notified;
    } catch (...) {
        error = std::current_exception();  // rethrown once the lock is ours again
    }
    // Destroyed while we waited (UsageError): a lock of the caller's is taken again as usual; the
    // condition's own lock went with it.
    if (notified.released() && !(notified.abandoned() && own_lock)) {
        auto held = co_await lock->lock_uncancellable();
        held.detach();  // the caller's own guard owns the lock again
    }
    if (error) std::rethrow_exception(error);
    // Notified, then cancelled (or past a deadline) while it queued for the lock: the
    // cancellation wins, as in asyncio 3.13, and the notification this wait consumed goes to the
    // next waiter (at worst a spurious wake-up, which the condition protocol allows), else it
    // would be lost with a caller that unwinds without acting on it.
    TaskHeader* self = tls_task();
    if (self && cancel_pending(self)) {
        notify(1);
        throw_if_cancelled(self);
    }
}

void Condition::notify(std::size_t count) {
    if (!lock_->held_by_current_task())
        throw UsageError("weft::Condition::notify(): the condition's lock is not held by this task");
    SpinGuard locked(guard_);
    for (std::size_t i = 0; i < count; ++i) {
        WaiterNode* node = waiters_.pop_front();
        if (!node) break;
        wake_waiter(node, kNotified);
    }
}

void Condition::notify_all() { notify(static_cast<std::size_t>(-1)); }

}  // namespace weft
