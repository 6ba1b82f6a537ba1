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
#include <utility>

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
    void reschedule(Clock::time_point deadline);
    Clock::time_point when() const noexcept { return deadline_; }
    /// True once the deadline was reached while the scope was active.
    bool expired() const noexcept;

private:
    friend struct detail::TimeoutScopes;
    enum class Raise : unsigned char { timeout_error, cancelled_error };  // the latter: wait_for's

    TimeoutScope(Clock::time_point deadline, Raise raise);
    void start(Clock::time_point deadline);  // arms the timer, or expires at once if past
    bool settle() noexcept;                  // disarms; true if the deadline was reached
    bool due() const noexcept { return !delivered_ && expired(); }  // must raise

    detail::TaskHeader* task_;
    Clock::time_point deadline_;
    detail::TimerEntry* entry_ = nullptr;
    // The task's active scopes, innermost first (the head lives in the task's extras).
    TimeoutScope* outer_ = nullptr;
    TimeoutScope* inner_ = nullptr;
    mutable bool expired_ = false;
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
    return TimeoutScope(now() + std::chrono::duration_cast<Clock::duration>(duration));
}

template <class T, class Rep, class Period>
Task<T> wait_for(Task<T> task, std::chrono::duration<Rep, Period> duration) {
    TimeoutScope deadline =
        detail::TimeoutScopes::converting(now() + std::chrono::duration_cast<Clock::duration>(duration));
    try {
        co_return co_await std::move(task);
    } catch (const CancelledError&) {
        detail::TimeoutScopes::convert(deadline);
        throw;
    }
}

template <class T, class Rep, class Period>
Task<T> wait_for(JoinHandle<T> handle, std::chrono::duration<Rep, Period> duration) {
    TimeoutScope deadline =
        detail::TimeoutScopes::converting(now() + std::chrono::duration_cast<Clock::duration>(duration));
    try {
        co_return co_await handle;
    } catch (const CancelledError&) {
        detail::TimeoutScopes::convert(deadline);
        throw;
    }
}

}  // namespace weft
