// Deadlines (asyncio.timeout / asyncio.wait_for).
//
//   try {
//       auto deadline = weft::timeout(2s);      // binds to the current task
//       co_await connect();
//       co_await handshake();                   // raises at whichever await is pending at
//       deadline.reschedule(weft::now() + 5s);  //   the deadline (or the next one)
//   } catch (const weft::TimeoutError&) { ... } // leaving the scope disarms it
//
//   int v = co_await weft::wait_for(compute(), 500ms);   // TimeoutError; compute() cancelled
//
// The rules (asyncio's, DESIGN.md "Cancellation"):
//  - A timeout is a cancellation. At the deadline the task is cancelled the way cancel()
//    does it: the await pending then (or the next await, if the task was busy) raises.
//    Cleanup written as `catch (const weft::CancelledError&) { ...; throw; }` runs for a
//    timeout too, inside the scope and in every child it cancels.
//  - The owner of the expired scope catches TimeoutError. A timeout() scope raises
//    TimeoutError itself (it derives from CancelledError, and e.scope() == &deadline says
//    which scope expired): C++ cannot swap an exception in flight inside a destructor, so
//    unlike `async with asyncio.timeout()` the RAII scope cannot convert at its end.
//    wait_for() takes the work as an argument and converts: the work sees a plain
//    CancelledError, wait_for's caller a TimeoutError. A child task awaited through a
//    JoinHandle sees CancelledError either way.
//  - A cancel() from outside stays a CancelledError, even inside an expired scope (it is
//    raised first; the expired scope raises at the next await if the task goes on).
//  - Every expired scope raises, once: when nested scopes have expired, the innermost
//    raises first and each enclosing one at the next await after it was handled.
//  - A scope whose deadline has already passed when it is entered (timeout(0ms),
//    timeout_at(past)) raises at the very next await, even sleep(0ms) or yield_now().
//  - A deadline that passes while no await is pending and that the task leaves before
//    awaiting anything raises nothing (expired() says it passed).
// Footgun: a catch inside an outer scope cannot tell from the type whose deadline a
// TimeoutError is. A retry loop with a per-attempt deadline inside an overall one should
// use wait_for per attempt (the overall deadline then passes the loop's catch as a
// CancelledError), or rethrow what is not its own: `if (e.scope() != &attempt) throw;`.
#pragma once

#include <chrono>
#include <exception>
#include <type_traits>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/awaitable.hpp>
#include <weft/detail/deadline_after.hpp>
#include <weft/detail/timer.hpp>
#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>

namespace weft {

namespace detail {
struct TimeoutScopes;
}

/// A deadline for the code of the current task while this object lives (see above).
///
///   auto deadline = weft::timeout(100ms);
///   co_await weft::sleep(1s);   // TimeoutError at 100 ms, e.scope() == &deadline
class [[nodiscard("a timeout scope lasts as long as this object")]] TimeoutScope {
public:
    explicit TimeoutScope(Clock::time_point deadline) : TimeoutScope(deadline, Raise::timeout_error) {}
    ~TimeoutScope();
    TimeoutScope(const TimeoutScope&) = delete;
    TimeoutScope& operator=(const TimeoutScope&) = delete;

    /// Moves the deadline (asyncio Timeout.reschedule). UsageError once it has expired.
    ///
    /// May be called by the owner or by another task of the same runtime (a watchdog), and is
    /// safe against the owner's own use of the scope (its awaits, expired(), when()). A
    /// deadline not later than now() expires the scope at once: called by the owner, its next
    /// await raises; called by another task, the owner is cancelled as by the timer, so a wait
    /// it is suspended in ends and raises TimeoutError. UsageError outside a task or from
    /// another runtime's task (the deadline is then left as it was).
    /// The caller must keep the scope alive for the whole call: another task must know that
    /// the owner has not left the scope yet (e.g. the owner stops the watchdog before leaving).
    void reschedule(Clock::time_point deadline);
    /// The current deadline (another task may have moved it).
    Clock::time_point when() const noexcept;
    /// True once the deadline was reached while the scope was active.
    bool expired() const noexcept;

private:
    friend struct detail::TimeoutScopes;
    enum class Raise : unsigned char { timeout_error, cancelled_error };  // the latter: wait_for's
    class Guard;  // holds lock_ (timeout.cpp)

    TimeoutScope(Clock::time_point deadline, Raise raise);
    // Arms the timer, or expires at once if past (`by_owner`: the caller runs as task_).
    void start(Clock::time_point deadline, bool by_owner);
    bool settle() noexcept;  // disarms; true if the deadline was reached. Under lock_.
    bool due() const noexcept { return !delivered_ && expired(); }  // must raise
    void lock() const noexcept;
    void unlock() const noexcept { lock_.store(false, detail::memory_order_release); }

    detail::TaskHeader* task_;
    // deadline_, entry_ and expired_ may be written by another task (reschedule): under lock_,
    // a spin lock (held for a few instructions: a timer armed or settled, a request_cancel).
    Clock::time_point deadline_;
    detail::TimerEntry* entry_ = nullptr;
    // The task's active scopes, innermost first (the head lives in the task's extras). These
    // and delivered_ are the owner's only.
    TimeoutScope* outer_ = nullptr;
    TimeoutScope* inner_ = nullptr;
    mutable bool expired_ = false;
    mutable detail::Atomic<bool> lock_{false};
    bool delivered_ = false;  // raised its exception at an await
    Raise raise_;
};

namespace detail {
// What the scopes need of each other and of the task: the stack, delivery, wait_for's form.
struct TimeoutScopes {
    // A task saw kTimeoutRequested at an await: the innermost expired scope raises (the
    // bit stays set while another expired scope is waiting its turn). Returns if none.
    static void throw_expired(TaskHeader* task);
    // wait_for's scope: the work inside sees CancelledError at the deadline...
    static TimeoutScope converting(Clock::time_point deadline) {
        return TimeoutScope(deadline, TimeoutScope::Raise::cancelled_error);
    }
    // ...and wait_for, catching it, turns it into TimeoutError if this scope raised it and
    // no cancel() from outside is pending. Returns otherwise (the caller rethrows).
    static void convert(const TimeoutScope& scope);
    // Whether a scope from `innermost` outwards has expired and not raised yet.
    static bool any_due(const TimeoutScope* innermost) noexcept;
};
}  // namespace detail

inline TimeoutScope timeout_at(Clock::time_point deadline) { return TimeoutScope(deadline); }

template <class Rep, class Period>
TimeoutScope timeout(std::chrono::duration<Rep, Period> duration) {
    return TimeoutScope(detail::deadline_after(now(), duration));  // (saturates: see there)
}

namespace detail {
template <class A>
inline constexpr bool wait_for_refused = false;

[[noreturn]] void throw_wait_for_expired();

// wait_for with a zero or negative timeout (asyncio's `if timeout <= 0`: see ExpiredWaitFor in
// awaitable.hpp). A coroutine of its own: g++ 12 lost the awaitable when wait_for_owned had
// these branches too.
template <class R, class A>
Task<R> wait_for_expired(A awaitable) {
    constexpr ExpiredWaitFor kind = expired_wait_for<A>;
    if constexpr (kind == ExpiredWaitFor::refuse) {
        throw_wait_for_expired();
    } else {
        const bool done = awaitable.done();
        if (!done) {
            if constexpr (kind == ExpiredWaitFor::result_if_done) {
                throw_wait_for_expired();
            } else {
                awaitable.cancel();  // a JoinHandle: its task, awaited below (asyncio's _cancel_and_wait)
            }
        }
        try {
            co_return co_await std::move(awaitable);  // the result, also of a task that refused
        } catch (const CancelledError&) {
            if (done) throw;
        }
        throw_wait_for_expired();  // (the task we cancelled ended cancelled)
    }
}

// wait_for's coroutine: owns the awaitable in its frame (moved or copied in by wait_for).
template <class R, class A, class Rep, class Period>
Task<R> wait_for_owned(A awaitable, std::chrono::duration<Rep, Period> duration) {
    TimeoutScope deadline = TimeoutScopes::converting(detail::deadline_after(now(), duration));
    try {
        if constexpr (std::is_void_v<R>) {
            co_await std::move(awaitable);
        } else {
            co_return co_await std::move(awaitable);
        }
    } catch (const CancelledError&) {
        TimeoutScopes::convert(deadline);
        throw;
    }
}
}  // namespace detail

/// Awaits `awaitable` with a deadline (asyncio.wait_for): its result, or TimeoutError once
/// `duration` has passed, the inner wait then cancelled.
///
///   int v = co_await weft::wait_for(compute(), 500ms);        // a Task (cancelled at the deadline)
///   Item i = co_await weft::wait_for(queue.get(), 1s);        // any awaitable: a queue get,
///   auto held = co_await weft::wait_for(lock.lock(), 1s);     //   a Lock::Guard, a permit,
///   co_await weft::wait_for(event.wait(), 1s);                //   an event, a stream read,
///   co_await weft::wait_for(weft::shield(work()), 1s);        //   a Shielded, a Future, a JoinHandle
///
/// The awaitable is moved into wait_for's frame, so the returned Task may be stored or
/// spawned (the primitive an awaiter refers to must still outlive it, as with `co_await`).
/// An lvalue is copied if it can be (a Future is a handle: the copy is the same future), and
/// refused otherwise: pass `std::move(x)`, or the call itself (`wait_for(q.get(), 1s)`).
/// An awaiter can be moved only before it is awaited (UsageError otherwise).
///
/// At the deadline the inner wait is cancelled the way cancel() does it (a JoinHandle's task
/// is cancelled too, and wait_for raises only once that task has finished, as asyncio's does;
/// a Shielded one runs on). Nothing is lost: a sync wait that was granted
/// its item, permit or lock before the task ran again passes it on (the `_must_cancel` rule,
/// waiter_queue.hpp), so on TimeoutError the queue still has the item, the semaphore the
/// permit, and the lock is not held. A result returned by reference is returned as a copy.
/// A zero or negative timeout raises TimeoutError without awaiting at all, as asyncio's does:
/// a Task never starts, a queue keeps its item; only a JoinHandle, Future or Shielded task
/// that has already finished gives its result (an unfinished JoinHandle's task is cancelled
/// and awaited first).
template <class A, class Rep, class Period>
auto wait_for(A&& awaitable, std::chrono::duration<Rep, Period> duration) {
    using Owned = std::remove_cvref_t<A>;
    if constexpr (!detail::awaitable<Owned>) {
        static_assert(detail::wait_for_refused<A>,
                      "weft::wait_for(awaitable, duration): the first argument is not awaitable (it has no "
                      "operator co_await and is not an awaiter; if it is, pass it as an rvalue)");
        return Task<void>();
    } else if constexpr (!std::is_rvalue_reference_v<A&&> && !std::is_copy_constructible_v<Owned>) {
        static_assert(detail::wait_for_refused<A>,
                      "weft::wait_for(awaitable, duration): this awaitable is an lvalue that cannot be copied: "
                      "pass the call itself (wait_for(queue.get(), 1s)) or std::move(it); wait_for keeps it in "
                      "its own frame");
        return Task<void>();
    } else if constexpr (!std::is_move_constructible_v<Owned>) {
        static_assert(detail::wait_for_refused<A>,
                      "weft::wait_for(awaitable, duration): this awaitable cannot be moved into wait_for's frame");
        return Task<void>();
    } else {
        using R = std::remove_cvref_t<detail::await_result_t<Owned>>;
        if (duration <= duration.zero()) [[unlikely]]
            return detail::wait_for_expired<R, Owned>(std::forward<A>(awaitable));
        return detail::wait_for_owned<R, Owned>(std::forward<A>(awaitable), duration);
    }
}

}  // namespace weft
