// weft::Event (asyncio.Event): a flag that tasks can wait for.
//
//   weft::Event ready;
//   weft::Task<> worker() {
//       co_await ready.wait();     // returns at once if the flag is already set
//       start();
//   }
//   ...  ready.set();              // every waiting worker resumes
//
// set() wakes every task waiting at that moment; they resume on worker loops (never inside
// set()) and return normally even if clear() is called before they run. wait() on a set event
// does not suspend. Waiting is a cancellation point. set() and clear() may be called from any
// thread, inside a task or not.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include <weft/detail/atomic.hpp>
#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>

namespace weft {

class Event {
public:
    class Awaiter;

    Event() noexcept = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;

    /// Sets the flag and wakes every waiter.
    void set() noexcept;
    /// Clears the flag: later wait()s suspend until the next set().
    void clear() noexcept { set_.store(false, detail::memory_order_relaxed); }
    bool is_set() const noexcept { return set_.load(detail::memory_order_acquire); }
    /// co_await it: returns once the flag is set.
    Awaiter wait() noexcept WEFT_LIFETIMEBOUND;

private:
    friend struct detail::SyncAccess;
    enum Outcome : std::uint8_t { kSet = 1 };

    bool enqueue_unless_set(detail::WaiterNode& node) noexcept;
    void unlink(detail::WaiterNode& node) noexcept { waiters_.remove(&node); }
    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }

    detail::Atomic<bool> set_{false};
    mutable detail::SpinLock guard_;
    detail::WaiterQueue waiters_{guard_};
};

/// `co_await event.wait()`; single use.
class [[nodiscard("co_await it")]] Event::Awaiter : private detail::WaiterNode {
public:
    explicit Awaiter(Event& event WEFT_LIFETIMEBOUND) noexcept : event_(event) {}

    bool await_ready() noexcept {
        if (!event_.is_set()) return false;
        detail::complete_now(*this, kSet);
        return detail::coop_spend();
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        if (detail::completed(*this)) {  // set, but the budget is spent
            detail::coop_yield_suspend(awaiting);
            return true;
        }
        return detail::suspend_waiter(
            *this, "weft::Event::wait()", awaiting, [this] { return event_.enqueue_unless_set(*this); }, &event_);
    }
    void await_resume() {
        // (A set() it was woken by wakes every waiter: nothing to pass on.)
        if (!detail::settle_wait(*this, event_.guard_, [this] { event_.unlink(*this); }, [] {}))
            detail::throw_cancelled();
    }

private:
    Event& event_;
};

inline Event::Awaiter Event::wait() noexcept WEFT_LIFETIMEBOUND { return Awaiter(*this); }

}  // namespace weft
