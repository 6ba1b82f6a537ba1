// Timeout scopes (timeout.hpp): a per-task stack of active scopes, each with its own
// timer entry and its own "expired" and "delivered" state.
//
// Protocol (why no deadline is lost, issue 16 item 4):
//  1. A scope's timer fires on its wheel's worker: the entry leaves kArmed, then
//     request_cancel(task, kTimeoutRequested) sets the task's bit ("some scope expired,
//     look") and ends a cancellable wait.
//  2. At an await, throw_expired() clears the bit, then walks the stack innermost first:
//     the first expired, undelivered scope raises; if another one is waiting, the bit is
//     set again so that the next await raises it. The bit is cleared before the walk, so an
//     entry that fires during the walk sets it again itself (its state is written before).
//  3. A scope that ends expired but undelivered withdraws the bit the same way: clear, then
//     set again if another scope of the stack is still due. No scope ever clears what
//     another one (or cancel()) asked for.
//  4. reschedule() may come from another task (a watchdog): the deadline, the timer entry and
//     `expired_` are then written on another worker, so they are read and written under the
//     scope's spin lock. A deadline already passed expires the scope and, from another task,
//     goes through request_cancel under the lock, as the timer's firing does: a cancellable
//     wait the owner is suspended in ends, and the owner cannot see the scope expired (and
//     leave it) before the request is made.
// The stack belongs to the task: only code running as that task touches it (an inlined
// child runs as its host, so its scopes nest inside the host's).
#include <weft/timeout.hpp>

#include <thread>

#include <weft/detail/context.hpp>
#include <weft/error.hpp>

namespace weft {

namespace ts = detail::task_state;

class TimeoutScope::Guard {
public:
    explicit Guard(const TimeoutScope& scope) noexcept : scope_(scope) { scope_.lock(); }
    ~Guard() { scope_.unlock(); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

private:
    const TimeoutScope& scope_;
};

// Acquire: what the last holder wrote (a new deadline, entry, expiry) is visible here.
void TimeoutScope::lock() const noexcept {
    while (lock_.exchange(true, detail::memory_order_acquire)) {
        while (lock_.load(detail::memory_order_relaxed)) std::this_thread::yield();
    }
}

TimeoutScope::TimeoutScope(Clock::time_point deadline, Raise raise)
    : task_(detail::current_task_or_throw("weft::timeout()")), deadline_(deadline), raise_(raise) {
    detail::TaskExtras& extras = task_->extras();
    start(deadline, /*by_owner=*/true);  // may throw (outside a runtime): not linked yet
    outer_ = extras.innermost_scope;
    if (outer_) outer_->inner_ = this;
    extras.innermost_scope = this;
}

TimeoutScope::~TimeoutScope() {
    detail::TaskExtras& extras = task_->extras();
    if (inner_) {
        inner_->outer_ = outer_;  // (left out of order: an optional<TimeoutScope> reset late)
    } else {
        extras.innermost_scope = outer_;
    }
    if (outer_) outer_->inner_ = inner_;
    bool expired = false;
    {
        Guard guard(*this);  // (the caller of a reschedule from another task has returned)
        expired = settle();
    }
    if (expired && !delivered_) {
        // Expired, never raised (no await came): withdraw our request, not the others'.
        task_->cancel_bits.fetch_and(~ts::kTimeoutRequested, detail::memory_order_acq_rel);
        if (detail::TimeoutScopes::any_due(extras.innermost_scope))
            task_->cancel_bits.fetch_or(ts::kTimeoutRequested, detail::memory_order_acq_rel);
    }
}

// Under the lock, unless from the constructor (not shared yet).
void TimeoutScope::start(Clock::time_point deadline, bool by_owner) {
    if (deadline <= detail::runtime_now()) {
        // Already passed: raise at the very next await (asyncio does), without a timer.
        expired_ = true;
        if (by_owner) {
            task_->cancel_bits.fetch_or(ts::kTimeoutRequested, detail::memory_order_acq_rel);
        } else {
            // The owner may be suspended: cancel it as the timer would (timers.cpp, fire_timer).
            // Alive: it cannot leave the scope while we hold the lock.
            detail::request_cancel(task_, ts::kTimeoutRequested);
        }
        return;
    }
    entry_ = detail::arm_timer(detail::Waker{task_, 0}, deadline, /*kind_timeout=*/true);
}

bool TimeoutScope::settle() noexcept {
    if (entry_ && detail::settle_timer(std::exchange(entry_, nullptr))) expired_ = true;
    return expired_;
}

void TimeoutScope::reschedule(Clock::time_point deadline) {
    // Checked first: once the old timer is settled, a throw would lose the deadline.
    detail::TaskHeader* caller = detail::tls_task();
    if (!caller || caller->runtime != task_->runtime)
        throw UsageError("TimeoutScope::reschedule: call it from a task of the scope's runtime");
    Guard guard(*this);
    if (settle()) throw UsageError("TimeoutScope::reschedule: the deadline has already expired");
    deadline_ = deadline;
    start(deadline, /*by_owner=*/caller == task_);
}

Clock::time_point TimeoutScope::when() const noexcept {
    Guard guard(*this);
    return deadline_;
}

bool TimeoutScope::expired() const noexcept {
    Guard guard(*this);
    if (!expired_ && entry_ && detail::timer_fired(entry_)) expired_ = true;
    return expired_;
}

namespace detail {

void TimeoutScopes::throw_expired(TaskHeader* task) {
    task->cancel_bits.fetch_and(~ts::kTimeoutRequested, memory_order_acq_rel);
    TaskExtras* extras = task->extras_if_any();
    TimeoutScope* raising = nullptr;
    for (TimeoutScope* scope = extras ? extras->innermost_scope : nullptr; scope; scope = scope->outer_) {
        if (!scope->due()) continue;
        if (raising) {  // an enclosing one waits its turn: the next await raises it
            task->cancel_bits.fetch_or(ts::kTimeoutRequested, memory_order_acq_rel);
            break;
        }
        raising = scope;
    }
    if (!raising) return;  // the scope that asked has ended meanwhile
    raising->delivered_ = true;
    if (raising->raise_ == TimeoutScope::Raise::cancelled_error) throw CancelledError();
    throw TimeoutError("weft: the deadline of a timeout() scope passed", raising);
}

bool TimeoutScopes::any_due(const TimeoutScope* innermost) noexcept {
    for (const TimeoutScope* scope = innermost; scope; scope = scope->outer_)
        if (scope->due()) return true;
    return false;
}

void throw_wait_for_expired() { throw TimeoutError("weft::wait_for: the timeout was zero or negative"); }

void TimeoutScopes::convert(const TimeoutScope& scope) {
    if (!scope.delivered_) return;  // not ours: an outer scope's deadline, or cancel()
    if (scope.task_->cancel_bits.load(memory_order_acquire) & ts::kCancelRequested) return;
    throw TimeoutError("weft::wait_for: the deadline passed");
}

}  // namespace detail

}  // namespace weft
