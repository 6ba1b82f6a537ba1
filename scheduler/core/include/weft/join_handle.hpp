// weft::JoinHandle<T>: the handle spawn() returns for a running task.
//
//   auto h = weft::spawn(fetch(url), "fetch");
//   ...
//   Page page = co_await h;   // resumes on a worker once the task finished;
//                             // rethrows the task's exception
//
// Awaiting consumes the handle: a second co_await throws UsageError. Dropping the
// handle (or detach()) lets the task run on; its failure is then logged, not lost.
// cancel() asks the task to stop: it sees CancelledError at its current or next
// suspension point. If the awaiting task is itself cancelled while it waits here, the
// awaited task is cancelled too (asyncio's propagation), and the handle stays valid so
// the caller may await the child's end.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>

#include <weft/detail/fork_join.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/error.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

namespace weft {

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

    /// False once awaited or detached.
    bool valid() const noexcept { return task_ != nullptr; }

    bool is_done() const { return checked().join_waiter.load(std::memory_order_acquire) == detail::kJoinClosed; }
    /// Requests cancellation. False if the task already finished (a no-op then).
    bool cancel() { return detail::request_cancel(&mutable_checked(), detail::task_state::kCancelRequested); }
    /// cancel() whose CancelledError carries `message` (asyncio's Task.cancel(msg)).
    bool cancel(std::string_view message) { return detail::request_cancel(&mutable_checked(), message); }
    /// True once the task has finished by cancellation (it never started, or it let
    /// CancelledError escape).
    bool cancelled() const { return is_done() && checked().cancelled; }
    std::uint64_t id() const { return checked().id(); }
    std::string_view name() const { return checked().name_view(); }

    // Propagate: cancelling the awaiting task cancels this one too (false: shield()). A
    // template argument, not a field: the common awaiter then tests nothing for it.
    template <bool Propagate>
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
            if (detail::run_nested(child)) return true;
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
                    return child;
                }
            }
            detail::TaskHeader* self = detail::current_task_or_throw("co_await on a JoinHandle");
            if (detail::join_suspend(handle_.task_, awaiting, self)) return std::noop_coroutine();
            return awaiting;
        }
        [[gnu::always_inline]] T await_resume() {
            if (inlined_) {  // ran here, to its end
                inlined_ = false;
                detail::join_finish_inlined(handle_.task_, outer_);
            } else if (handle_.task_->join_waiter.load(std::memory_order_acquire) != detail::kJoinClosed) {
                detail::join_cancelled(handle_.task_, Propagate);  // throws unless it finished meanwhile
            }
            detail::TaskPromise<T>* task = std::exchange(handle_.task_, nullptr);
            Destroyer free_when_returned{task};
            task->result_taken = true;
            return task->take_result();
        }

    private:
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
        detail::TaskHeader* outer_ = nullptr;  // what ran inside the awaiting task before the child

    public:
        // (Copyable only because g++ 12 may copy an awaiter before using it.)
        // Destroyed while an inlined child is still suspended (the runtime shut down):
        // the child's frame must go too.
        ~BasicAwaiter() {
            if (inlined_) detail::join_abandon_inlined(handle_.task_, outer_);
        }
    };
    using Awaiter = BasicAwaiter<true>;

    // For weft's combinators: the task behind the handle, and the result of a task known
    // to have finished (consumes the handle like co_await does).
    detail::TaskHeader* task_header() const noexcept { return task_; }
    T take_ready_result() {
        detail::TaskPromise<T>* task = &mutable_checked();
        detail::wait_closed(task);
        task_ = nullptr;
        Destroyer free_when_returned{task};
        task->result_taken = true;
        return task->take_result();
    }

    Awaiter operator co_await() & noexcept { return Awaiter(*this); }
    Awaiter operator co_await() && noexcept { return Awaiter(*this); }

private:
    // A finished (kJoinClosed) task belongs to its handle alone: freed with no atomics.
    struct Destroyer {
        detail::TaskHeader* task;
        ~Destroyer() { detail::destroy_task(task); }
    };

    const detail::TaskPromise<T>& checked() const {
        if (!task_) throw UsageError("JoinHandle is empty: it was already awaited, detached or moved from");
        return *task_;
    }
    detail::TaskPromise<T>& mutable_checked() {
        checked();
        return *task_;
    }
    void reset() noexcept {
        if (task_) detail::release_handle(std::exchange(task_, nullptr));
    }

    detail::TaskPromise<T>* task_ = nullptr;
};

}  // namespace weft
