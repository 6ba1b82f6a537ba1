// weft::JoinHandle<T>: the handle spawn() returns for a running task (asyncio's Task).
//
//   auto h = weft::spawn(fetch(url), "fetch");
//   ...
//   Page page = co_await h;   // resumes on a worker once the task finished;
//                             // rethrows the task's exception
//   if (h.done() && !h.cancelled()) log(h.result().size());   // still readable
//   Page mine = co_await std::move(h);                         // takes it: h is now empty
//
// Results stay readable (asyncio's Task semantics): once the task finished, done(),
// cancelled(), result() and exception() read its outcome as often as wanted, and
// `co_await h` on an lvalue returns it again, each time:
//  - `co_await h` (lvalue): waits, then returns a copy of the result (rethrows the task's
//    exception, CancelledError if it was cancelled). The frame, with the result, lives until
//    the handle is dropped. For a move-only T the first such await moves the value out;
//    later reads throw UsageError ("moved out").
//  - `co_await std::move(h)`, `co_await spawn(...)`: waits, then takes the result and frees
//    the frame at once; the handle is left empty (a later use throws UsageError). This is
//    the fork-join fast path (skynet, fib, nqueens): no copy, no frame kept.
//  - result(): the value (a const reference into the frame, valid while the handle holds
//    it); UsageError if the task has not finished. exception(): nullptr if it returned, its
//    exception if it failed; both throw CancelledError if it was cancelled.
// Dropping the handle (or detach()) lets the task run on; its failure is then logged, not
// lost (reading the outcome through the handle counts as observing it). cancel() asks the
// task to stop: it sees CancelledError at its current or next suspension point. If the
// awaiting task is itself cancelled while it waits here (cancel(), a timeout, wait_for), the
// cancellation goes to the awaited task instead, and the await goes on until that task has
// finished (asyncio's `await task`): then it raises the task's CancelledError, or the
// awaiting task's own TimeoutError; a task that caught the cancellation and returned hands
// its value over. shield(h) raises at once and leaves the task running.
// One task at a time may wait on a handle (a second concurrent awaiter gets UsageError, and
// so does a task awaiting its own handle);
// add_done_callback (done_callback.hpp) has no such limit. Where weft differs from asyncio:
// a JoinHandle has one owner (move-only), so sharing a task's result means sharing the
// handle, and the lvalue await copies where Python shares one object.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/detail/awaitable.hpp>
#include <weft/detail/fork_join.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/done_callback.hpp>
#include <weft/error.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

namespace weft {

namespace detail {
[[noreturn, gnu::cold, gnu::noinline]] inline void throw_not_finished(const char* what) {
    throw UsageError(std::string("JoinHandle::") + what +
                     ": the task has not finished (co_await the handle, or check done() first)");
}
}  // namespace detail

template <class T>
class [[nodiscard("co_await the JoinHandle or call detach()")]] JoinHandle {
public:
    JoinHandle() noexcept = default;
    explicit JoinHandle(detail::TaskPromise<T>* task) noexcept : task_(task) {}
    JoinHandle(JoinHandle&& other) noexcept : task_(std::exchange(other.task_, nullptr)) {}
    JoinHandle& operator=(JoinHandle&& other) noexcept {
        if (this != &other) {
            reset();
            task_ = std::exchange(other.task_, nullptr);
        }
        return *this;
    }
    JoinHandle(const JoinHandle&) = delete;
    JoinHandle& operator=(const JoinHandle&) = delete;
    ~JoinHandle() { reset(); }

    /// Lets the task run on unobserved (an exception it throws is logged).
    void detach() noexcept { reset(); }

    /// False once taken (co_await std::move(h)), detached or moved from.
    bool valid() const noexcept { return task_ != nullptr; }

    /// True once the task has finished (returned, failed or was cancelled).
    bool done() const { return checked().join_waiter.load(std::memory_order_acquire) == detail::kJoinClosed; }
    bool is_done() const { return done(); }
    /// Requests cancellation. False if the task already finished (a no-op then).
    bool cancel() { return detail::request_cancel(&mutable_checked(), detail::task_state::kCancelRequested); }
    /// cancel() whose CancelledError carries `message` (asyncio's Task.cancel(msg)).
    bool cancel(std::string_view message) { return detail::request_cancel(&mutable_checked(), message); }
    /// True once the task has finished by cancellation (it never started, or it let
    /// CancelledError escape).
    bool cancelled() const { return done() && checked().cancelled; }
    std::uint64_t id() const { return checked().id(); }
    std::string_view name() const { return checked().name_view(); }

    /// The finished task's value (a reference into its frame, valid while this handle holds
    /// it; void for Task<void>). Rethrows its exception, CancelledError if it was cancelled;
    /// UsageError if it has not finished, or if a move-only value was moved out.
    decltype(auto) result() {
        detail::TaskPromise<T>& task = finished_or_throw("result()");
        task.result_taken = true;
        return task.peek_result();
    }
    /// The finished task's exception: nullptr if it returned. CancelledError (thrown) if it
    /// was cancelled, UsageError if it has not finished.
    std::exception_ptr exception() {
        detail::TaskPromise<T>& task = finished_or_throw("exception()");
        task.result_taken = true;
        if (task.cancelled) std::rethrow_exception(task.exception);
        return task.exception;
    }
    /// Calls `fn` once when the task finishes (at once-ish if it has): see done_callback.hpp.
    /// `fn` takes (const weft::FinishedTask&) or nothing.
    template <class F>
    void add_done_callback(F&& fn) {
        detail::add_done_callback(&mutable_checked(), detail::make_done_callback(std::forward<F>(fn)));
    }

    // Propagate: cancelling the awaiting task cancels this one too (false: shield()).
    // Consume: take the result and free the frame (co_await on an rvalue) rather than
    // return a copy and keep both (on an lvalue). Template arguments, not fields: the common
    // awaiters then test nothing for them.
    template <bool Propagate, bool Consume = true>
    class BasicAwaiter {
    public:
        explicit BasicAwaiter(JoinHandle& handle) noexcept : handle_(handle) {}
        // Fork-join fast path: a child still unstarted in this worker's queue runs right
        // here instead of a suspend + schedule: as a nested call (detail::run_nested), or
        // past the bound by symmetric transfer from await_suspend. (Inlined into the
        // coroutine, with await_resume: as calls they cost a sixth of skynet's time.)
        [[gnu::always_inline]] bool await_ready() {
            detail::TaskHeader* task = &handle_.mutable_checked();
            if (task->join_waiter.load(std::memory_order_acquire) == detail::kJoinClosed) return within_budget();
            if (!Propagate || !detail::may_run_nested()) return false;
            // The cooperative budget (context.hpp, inline joins' own): once spent the child is not run
            // inline: this join suspends (await_suspend goes to join_suspend), and the worker
            // loop runs the child, its timers and sockets.
            if (!detail::inline_join_spend()) [[unlikely]]
                return false;
            std::coroutine_handle<> child = detail::join_try_inline(task, {}, outer_);  // continuation: return here
            if (!child) return false;
            inlined_ = true;
            if constexpr (Consume) {
                // It finishes into outcome_ (and frees its frame as it returns: task.hpp).
                take_outcome();
                detail::run_nested_unchecked(child);
                if (outcome_.finished) [[likely]] {
                    inlined_ = false;
                    handle_.task_ = nullptr;  // (freed)
                    return true;
                }
            } else {
                if (detail::run_nested(child)) return true;
            }
            suspended_inside_ = true;
            return false;
        }
        [[gnu::always_inline]] std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
            if (budget_yield_) [[unlikely]] {  // the child has finished, but the budget is spent
                detail::coop_yield_suspend(awaiting);
                return std::noop_coroutine();
            }
            if (suspended_inside_) {
                // Its task (ours) cannot be resumed before this returns: the worker running
                // it re-queues it only afterwards.
                handle_.task_->continuation = awaiting;
                return std::noop_coroutine();
            }
            if (Propagate && !detail::may_run_nested()) {  // (else await_ready tried it)
                if (std::coroutine_handle<> child = detail::join_try_inline(handle_.task_, awaiting, outer_)) {
                    inlined_ = true;
                    if constexpr (Consume) take_outcome();
                    return child;
                }
            }
            detail::TaskHeader* self = detail::current_task_or_throw("co_await on a JoinHandle");
            if constexpr (Propagate) {
                // A cancellation of ours goes to the child, and we wait for its end (asyncio).
                bool suspended = detail::join_suspend_forwarding(handle_.task_, awaiting, self);
                forwarding_ = true;
                return suspended ? std::noop_coroutine() : awaiting;
            } else {
                if (detail::join_suspend(handle_.task_, awaiting, self)) return std::noop_coroutine();
                return awaiting;
            }
        }
        [[gnu::always_inline]] T await_resume() {
            if constexpr (Consume) {
                if (outcome_.finished) {  // joined inline; it finished into outcome_ and continued us
                    inlined_ = false;
                    // It freed itself if it returned to this await_ready; if it continued us
                    // (by transfer) it waits at its end for us to free it.
                    if (detail::TaskPromise<T>* task = std::exchange(handle_.task_, nullptr))
                        detail::destroy_task(task);
                    return outcome_.take();
                }
            }
            if (inlined_) {  // ran here, to its end
                inlined_ = false;
                detail::join_finish_inlined(handle_.task_, outer_);
            } else if (Propagate && forwarding_) [[unlikely]] {
                forwarding_ = false;
                detail::join_forwarding_end(handle_.task_);  // throws our cancellation if it ended cancelled
            } else if (handle_.task_->join_waiter.load(std::memory_order_acquire) != detail::kJoinClosed) {
                detail::join_cancelled(handle_.task_, Propagate);  // throws unless it finished meanwhile
            }
            if constexpr (Consume) {
                detail::TaskPromise<T>* task = std::exchange(handle_.task_, nullptr);
                Destroyer free_when_returned{task};
                task->result_taken = true;
                return task->take_result();
            } else {
                handle_.task_->result_taken = true;
                return handle_.task_->read_result();
            }
        }

    private:
        // The child, just claimed to run inline, leaves its outcome in outcome_ and finishes
        // its inline join itself (task.hpp, TaskPromiseBase::FinalAwaiter).
        void take_outcome() noexcept {
            outcome_.outer = outer_;
            handle_.task_->take_outcome_into(&outcome_);
        }
        // The cooperative budget (context.hpp): a finished child is a ready await.
        bool within_budget() noexcept {
            if (detail::coop_spend()) [[likely]]
                return true;
            budget_yield_ = true;
            return false;
        }

        JoinHandle& handle_;
        bool budget_yield_ = false;  // ready, but the budget is spent: await_suspend yields
        bool inlined_ = false;  // the child runs inline and has not finished
        bool suspended_inside_ = false;  // the child ran as a nested call and suspended
        bool forwarding_ = false;  // suspended by join_suspend_forwarding (or it found the child done)
        detail::TaskHeader* outer_ = nullptr;  // what ran inside the awaiting task before the child
        struct NoOutcome {};
        [[no_unique_address]] std::conditional_t<Consume, detail::NestedOutcome<T>, NoOutcome> outcome_{};

    public:
        // (Copyable only because g++ 12 may copy an awaiter before using it.)
        // Destroyed while an inlined child is still suspended (the runtime shut down):
        // the child's frame must go too.
        ~BasicAwaiter() {
            if (inlined_) detail::join_abandon_inlined(handle_.task_, outer_);
        }
    };
    using Awaiter = BasicAwaiter<true, false>;  // co_await h: keeps the handle
    using TakingAwaiter = BasicAwaiter<true, true>;  // co_await std::move(h): takes it

    // For weft's combinators: the task behind the handle, and the result of a task known
    // to have finished: taken (consumes the handle like co_await std::move(h)) or read (like
    // co_await h: the handle keeps it).
    detail::TaskHeader* task_header() const noexcept { return task_; }
    T take_ready_result() {
        detail::TaskPromise<T>* task = &mutable_checked();
        detail::wait_closed(task);
        task_ = nullptr;
        Destroyer free_when_returned{task};
        task->result_taken = true;
        return task->take_result();
    }
    T read_ready_result() {
        detail::TaskPromise<T>* task = &mutable_checked();
        detail::wait_closed(task);
        task->result_taken = true;
        return task->read_result();
    }

    Awaiter operator co_await() & noexcept { return Awaiter(*this); }
    TakingAwaiter operator co_await() && noexcept { return TakingAwaiter(*this); }

private:
    // A finished (kJoinClosed) task belongs to its handle alone: freed with no atomics.
    struct Destroyer {
        detail::TaskHeader* task;
        ~Destroyer() { detail::destroy_task(task); }
    };

    const detail::TaskPromise<T>& checked() const {
        if (!task_) [[unlikely]]
            throw UsageError("JoinHandle is empty: its result was taken (co_await std::move(handle)), or it was "
                             "detached or moved from");
        return *task_;
    }
    detail::TaskPromise<T>& mutable_checked() {
        checked();
        return *task_;
    }
    detail::TaskPromise<T>& finished_or_throw(const char* what) {
        detail::TaskPromise<T>& task = mutable_checked();
        if (task.join_waiter.load(std::memory_order_acquire) != detail::kJoinClosed) [[unlikely]]
            detail::throw_not_finished(what);
        return task;
    }
    void reset() noexcept {
        if (task_) detail::release_handle(std::exchange(task_, nullptr));
    }

    detail::TaskPromise<T>* task_ = nullptr;
};

namespace detail {
template <class T>
inline constexpr ExpiredWaitFor expired_wait_for<JoinHandle<T>> = ExpiredWaitFor::cancel_task;
}  // namespace detail

}  // namespace weft
