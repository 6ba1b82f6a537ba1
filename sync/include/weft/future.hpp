// weft::Future<T> (asyncio.Future / loop.create_future; Tokio's oneshot): a result that somebody
// sets once and any number of tasks await.
//
//   struct Request { int x; weft::Future<int> reply; };
//   weft::Task<int> call(weft::Queue<Request>& q, int x) {
//       weft::Future<int> reply;
//       Request request{x, reply};       // a copy of the handle: the same future
//       co_await q.put(std::move(request));
//       co_return co_await reply;        // resumes once the batcher set it
//   }
//   ... batcher: for (auto& r : batch) r.reply.set_result(r.x * 2);
//
// A Future is a handle to shared state, like a Python object reference: copies refer to the
// same future, and the state lives while any handle does (a waiter cancelled away cannot leave
// the setter a dangling pointer). Constructing one allocates that state.
//
//  - set_result(v), set_exception(e), cancel(): the first one wins; set_result/set_exception
//    on a done future throw InvalidStateError (cancel() then returns false). Any thread may
//    call them, inside a task or not. Every task awaiting then resumes on a worker loop (never
//    inside set_result()).
//  - co_await f: the result (a copy: every awaiting task gets its own), the exception set,
//    or CancelledError if the future was cancelled. Returns at once if done. A move-only T is
//    taken by `co_await std::move(f)`: the first taker gets the value, a later one
//    InvalidStateError; `co_await f` on an lvalue does not compile; result() reads it in
//    place (a reference valid while a handle lives).
//  - done(), cancelled(), result(), exception(): read without consuming (asyncio's).
//    result()/exception() throw InvalidStateError while pending, CancelledError if cancelled.
//  - Awaiting is a cancellation point. A task cancelled (or timed out) while awaiting leaves
//    the future untouched: it stays pending, other awaiters keep waiting, the setter still
//    succeeds. weft differs from asyncio here: asyncio's Task.cancel() cancels the future the
//    task awaits, so every other task awaiting it gets CancelledError too. A weft Future is
//    shared by many awaiters and set from other threads, so one awaiter giving up must not
//    take the result from the others (as with Tokio's oneshot, where a dropped receiver does
//    not cancel the sender). A task that owns the future and wants asyncio's behaviour calls
//    f.cancel() in its catch.
//  - From a plain thread: co_await throws UsageError (there is no task to suspend); use
//    wait_blocking(), which blocks the thread until the future is done (UsageError inside a
//    task: it would block a worker).
//  - add_done_callback(fn): fn(future) (or fn()) once the future is done, set or cancelled,
//    each callback once, in the order added. Never inside set_result()/cancel() or
//    add_done_callback() on a worker: there it is scheduled with weft::call_soon, as asyncio
//    does. Done on a plain thread (set_result from another thread, or added after the end
//    from one), it runs at once on that thread, as concurrent.futures does. An exception it
//    throws is logged and dropped. Callbacks still scheduled at shutdown are dropped. There is
//    no remove_done_callback: a C++ callable has no identity to compare.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/awaitable.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>
#include <weft/error.hpp>

namespace weft {

template <class T = void>
class Future;

namespace detail {

// The part of a future's state that does not depend on T (future.cpp).
//
// Protocol: a setter claims the future by moving `state_` from pending to `setting` (one CAS:
// the first setter wins), stores its value or exception without any lock, then under guard_
// publishes the final state (release) and wakes every linked waiter. A waiter reads the state
// (acquire); if not done it links itself under guard_ after looking again, so it is either
// linked before the publish or sees it. Blocking waiters (plain threads) are counted in
// `blocking_`: the publisher notifies only when there is one (seq_cst on both sides, so one
// of them sees the other).
class FutureCore {
public:
    enum State : std::uint8_t { kPending, kSetting, kResult, kException, kCancelled };

    FutureCore() = default;
    FutureCore(const FutureCore&) = delete;
    FutureCore& operator=(const FutureCore&) = delete;

    State state() const noexcept { return state_.load(memory_order_acquire); }
    bool done() const noexcept { return state() >= kResult; }

    // The first step of set_result/set_exception: InvalidStateError if already claimed.
    void claim(const char* what);
    void unclaim() noexcept { state_.store(kPending, memory_order_release); }  // storing the value threw
    void publish(State final) noexcept;
    void set_exception(std::exception_ptr error);
    bool cancel() noexcept;

    // Throws for a future that holds no value: InvalidStateError (pending), CancelledError,
    // or the exception set. Returns if it holds a result.
    void check_result(const char* what) const;
    std::exception_ptr exception() const;
    void wait_blocking() const;
    [[noreturn]] static void throw_taken();

    void add_ref() noexcept { refs_.fetch_add(1, memory_order_relaxed); }
    bool drop_ref() noexcept { return refs_.fetch_sub(1, memory_order_acq_rel) == 1; }
    bool take() noexcept { return !taken_.exchange(true, memory_order_relaxed); }
    bool taken() const noexcept { return taken_.load(memory_order_relaxed); }

    // A done callback, not yet bound: given the core once it is done, it returns the call,
    // holding a Future handle of its own (so nothing holds the state while it is pending).
    using DoneCallback = std::function<std::function<void()>(FutureCore&)>;
    // Keeps it for publish(), or, if the future is done already, dispatches it now.
    void add_done_callback(DoneCallback callback);

    // The awaiter's steps (waiter_queue.hpp).
    bool enqueue_unless_done(WaiterNode& node) noexcept;
    void unlink(WaiterNode& node) noexcept { waiters_.remove(&node); }

private:
    friend struct SyncAccess;
    template <class>
    friend class weft::Future;
    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }
    // call_soon on a worker, at once (exceptions logged) elsewhere.
    void dispatch(const DoneCallback& callback);

    std::exception_ptr error_;
    std::vector<DoneCallback> done_callbacks_;  // guarded by guard_; taken by publish()
    Atomic<State> state_{kPending};
    Atomic<bool> taken_{false};  // a move-only result was taken by co_await std::move(f)
    Atomic<std::uint32_t> refs_{1};
    mutable Atomic<std::uint32_t> blocking_{0};  // threads in wait_blocking()
    mutable SpinLock guard_;
    WaiterQueue waiters_{guard_};
};

struct FutureVoid {};

template <class T>
struct FutureState final : FutureCore {
    using Stored = std::conditional_t<std::is_void_v<T>, FutureVoid, T>;
    std::optional<Stored> value;
};

}  // namespace detail

template <class T>
class [[nodiscard("a Future does nothing until it is set and co_await-ed")]] Future {
    static_assert(!std::is_reference_v<T>, "weft::Future<T&>: store a pointer or std::reference_wrapper");
    using State = detail::FutureState<T>;
    static constexpr bool kCopies = std::is_void_v<T> || std::is_copy_constructible_v<T>;

public:
    class Awaiter;
    using value_type = T;

    /// A new pending future (asyncio's loop.create_future()).
    Future() : state_(new State) {}
    Future(const Future& other) noexcept : state_(other.state_) {
        if (state_) state_->add_ref();
    }
    Future(Future&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
    Future& operator=(Future other) noexcept {
        std::swap(state_, other.state_);
        return *this;
    }
    ~Future() {
        if (state_ && state_->drop_ref()) delete state_;
    }

    /// Whether both handles refer to the same future.
    friend bool operator==(const Future& a, const Future& b) noexcept { return a.state_ == b.state_; }

    /// Sets the result and wakes every waiter. InvalidStateError if the future is done.
    template <class U = T>
        requires(!std::is_void_v<T> && std::is_constructible_v<T, U &&>)
    void set_result(U&& value) {
        State& s = checked();
        s.claim("weft::Future::set_result");
        try {
            s.value.emplace(std::forward<U>(value));
        } catch (...) {
            s.unclaim();
            throw;
        }
        s.publish(detail::FutureCore::kResult);
    }
    void set_result()
        requires std::is_void_v<T>
    {
        State& s = checked();
        s.claim("weft::Future::set_result");
        s.value.emplace();
        s.publish(detail::FutureCore::kResult);
    }
    /// Sets an exception that every awaiter (and result()) rethrows. InvalidStateError if done;
    /// UsageError for a null exception_ptr.
    void set_exception(std::exception_ptr error) { checked().set_exception(std::move(error)); }
    /// Cancels a pending future: awaiters raise CancelledError. False if it was already done.
    bool cancel() { return checked().cancel(); }

    bool done() const { return checked().done(); }
    bool cancelled() const { return checked().state() == detail::FutureCore::kCancelled; }
    /// The result, read in place (not consumed). Rethrows the exception set; CancelledError if
    /// cancelled; InvalidStateError while pending or if a move-only result was taken.
    decltype(auto) result() const {
        const State& s = checked();
        s.check_result("weft::Future::result()");
        if constexpr (!std::is_void_v<T>) {
            if (s.taken()) detail::FutureCore::throw_taken();
            return static_cast<const T&>(*s.value);
        }
    }
    /// The exception set, or nullptr if a result was. InvalidStateError while pending;
    /// CancelledError if cancelled.
    std::exception_ptr exception() const { return checked().exception(); }
    /// Calls `fn(future)` (a `const Future&` to this future) or `fn()` once the future is done:
    /// see the contract at the top of this file.
    ///   reply.add_done_callback([](const weft::Future<int>& f) {
    ///       if (!f.cancelled() && !f.exception()) spdlog::info("got {}", f.result());
    ///   });
    template <class F>
    void add_done_callback(F&& fn) {
        State& s = checked();
        constexpr bool kTakesFuture = std::is_invocable_v<std::decay_t<F>&, const Future&>;
        static_assert(kTakesFuture || std::is_invocable_v<std::decay_t<F>&>,
                      "weft::Future::add_done_callback: the callback takes (const weft::Future<T>&) or nothing");
        bool empty = false;  // an empty std::function, a null function pointer
        if constexpr (requires(const std::decay_t<F>& g) { g.operator bool(); }) {
            empty = !fn.operator bool();
        } else if constexpr (std::is_pointer_v<std::decay_t<F>>) {
            empty = fn == nullptr;
        }
        if (empty) throw UsageError("weft::Future::add_done_callback: the callback is empty");
        s.add_done_callback([fn = std::forward<F>(fn)](detail::FutureCore& core) mutable -> std::function<void()> {
            Future self(static_cast<State*>(&core));
            return [fn = std::move(fn), self = std::move(self)]() mutable {
                if constexpr (kTakesFuture) {
                    fn(static_cast<const Future&>(self));
                } else {
                    fn();
                }
            };
        });
    }

    /// Blocks the calling plain thread until the future is done (then read result()).
    /// UsageError inside a weft task: co_await the future there.
    void wait_blocking() const { checked().wait_blocking(); }

    /// `co_await future`: a copy of the result for every awaiting task.
    Awaiter operator co_await() const& {
        static_assert(kCopies,
                      "co_await on a weft::Future<T> lvalue copies the result, and this T cannot be copied: "
                      "co_await std::move(future) takes it (once), or read it in place with result()");
        return Awaiter(checked());
    }
    /// `co_await std::move(future)`: as above; a move-only T is taken (once).
    Awaiter operator co_await() && { return Awaiter(checked()); }

private:
    friend struct detail::SyncAccess;
    // Another handle to a live state (a done callback's own).
    explicit Future(State* state) noexcept : state_(state) { state_->add_ref(); }
    const detail::FutureCore& shared_core() const { return checked(); }
    State& checked() const {
        if (!state_) throw UsageError("weft::Future is empty: it was moved from");
        return *state_;
    }

    State* state_;
};

/// The awaiter of a Future; single use. Resumes on a worker loop.
template <class T>
class [[nodiscard("co_await it")]] Future<T>::Awaiter : private detail::WaiterNode {
public:
    explicit Awaiter(State& state) noexcept : state_(&state) {}

    bool await_ready() noexcept {
        if (!state_->done()) return false;
        detail::complete_now(*this, 1);
        return detail::coop_spend();
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        if (detail::completed(*this)) {  // done, but the budget is spent
            detail::coop_yield_suspend(awaiting);
            return true;
        }
        return detail::suspend_waiter(
            *this, "co_await weft::Future", awaiting, [this] { return state_->enqueue_unless_done(*this); }, state_);
    }
    T await_resume() {
        // Nothing to pass on when a cancellation wins after the wake: every waiter is woken.
        if (!detail::settle_wait(*this, state_->guard_, [this] { state_->unlink(*this); }, [] {}))
            detail::throw_cancelled();
        state_->check_result("co_await weft::Future");
        if constexpr (kCopies && !std::is_void_v<T>) {
            return *state_->value;  // a copy
        } else if constexpr (!std::is_void_v<T>) {  // co_await std::move(f) on a move-only T
            if (!state_->take()) detail::FutureCore::throw_taken();
            return std::move(*state_->value);
        }
    }

private:
    State* state_;  // kept alive by the Future awaited (a temporary or a variable of the awaiting frame)
};

namespace detail {
template <class T>
inline constexpr ExpiredWaitFor expired_wait_for<Future<T>> = ExpiredWaitFor::result_if_done;
}  // namespace detail

}  // namespace weft
