// weft::Task<T>: the lazy coroutine type every weft function returns.
//
//   weft::Task<int> add(int a, int b) { co_return a + b; }
//   weft::Task<> demo() {
//       int x = co_await add(1, 2);          // runs inline, resumes here with 3
//       auto h = weft::spawn(add(x, 4));     // or runs concurrently on any worker
//       std::cout << co_await h << "\n";
//   }
//
// A Task does nothing until awaited or spawned. Awaiting runs the child as a nested call
// on the awaiter's stack (a plain call is cheaper than a transfer) up to a bounded depth
// (kMaxNestedRuns, context.hpp), and by symmetric transfer beyond it, so a deep chain does
// not overflow the stack; the child's exception is rethrown in the awaiter. An awaited child
// leaves its result in the awaiter and, when it returns to a nested call, frees its own
// frame as it ends. Destroying a Task that never ran frees its frame.
// A Task runs once: awaiting (or spawning) one that was moved from or already awaited
// throws UsageError.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <weft/detail/context.hpp>
#include <weft/detail/fork_join.hpp>
#include <weft/detail/frame_allocator.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/error.hpp>

namespace weft {

template <class T = void>
class Task;

namespace detail {

struct TaskAccess;

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_spent_task(const char* what, bool empty) {
    throw UsageError(std::string(what) + (empty ? " of an empty weft::Task (moved from, or default-constructed)"
                                                : " of a weft::Task that was already awaited: a Task runs once"));
}

// Where a task awaited as a nested call leaves its outcome: in its awaiter. Its frame then
// frees itself as it returns, rather than through destroy(): an indirect call and a jump on
// the suspension index that cost fib a sixth of its time (perf). Used by
// `co_await task` and by `co_await std::move(handle)` on a child joined inline.
struct NestedOutcomeBase {
    std::exception_ptr error;
    TaskHeader* outer = nullptr;  // an inline join's: what ran inside its host before the child
    bool finished = false;  // the outcome is here (and the frame gone, if it returned to its caller)
};
template <class T>
struct NestedOutcome : NestedOutcomeBase {
    std::optional<T> value;
    T take() {
        if (error) [[unlikely]]
            std::rethrow_exception(error);
        return std::move(*value);
    }
};
template <>
struct NestedOutcome<void> : NestedOutcomeBase {
    void take() const {
        if (error) [[unlikely]]
            std::rethrow_exception(error);
    }
};

class TaskPromiseBase : public TaskHeader {
public:
    static void* operator new(std::size_t size) { return allocate_frame(size); }
    // Sized: the frame allocator takes the size class from it (tests/rt_frame_allocator.cpp
    // checks that each compiler passes the size it allocated).
    static void operator delete(void* frame, std::size_t size) noexcept { free_frame(frame, size); }

    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct FinalAwaiter {
        TaskPromiseBase* promise;
        // With an awaiter's outcome to fill (nested_out) and nobody to continue (it ran as a
        // nested call, which returns to its caller): done, and the frame frees itself now.
        bool await_ready() const noexcept {
            NestedOutcomeBase* out = promise->nested_out;
            if (!out) return false;
            if (promise->inline_host.load(memory_order_relaxed))  // a child joined inline
                join_finish_inlined(promise, out->outer);
            if (promise->exception) [[unlikely]]
                out->error = std::move(promise->exception);
            out->finished = true;
            return !promise->continuation;
        }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<>) const noexcept {
            // Awaited by transfer: continue the awaiter. Spawned, or run as a nested call:
            // return to the worker or the caller, which sees done().
            std::coroutine_handle<> next = promise->continuation;
            if (next) return next;
            return std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {this}; }

    void unhandled_exception() noexcept { exception = std::current_exception(); }

    // Set by an awaiter that takes the outcome (see NestedOutcomeBase); else the outcome
    // stays in the frame (a spawned task's, for its JoinHandle).
    NestedOutcomeBase* nested_out = nullptr;

protected:
    void rethrow_if_failed() const {
        if (exception) std::rethrow_exception(exception);
    }
};

template <class T>
class TaskPromise final : public TaskPromiseBase {
public:
    Task<T> get_return_object() noexcept;

    template <class U>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        result_to_->emplace(std::forward<U>(value));
    }
    // An awaiter takes the outcome (see NestedOutcomeBase): the value goes there, not to value_.
    void take_outcome_into(NestedOutcome<T>* out) noexcept {
        nested_out = out;
        result_to_ = &out->value;
    }

    T take_result() {
        rethrow_if_failed();
        return std::move(*value_);
    }
    // Non-consuming reads for a JoinHandle that keeps the frame (join_handle.hpp): a copy,
    // or for a move-only T the value itself, moved out once (later reads: UsageError).
    T read_result() {
        const T& value = peek_result();
        if constexpr (std::is_copy_constructible_v<T>) {
            return value;
        } else {
            T out = std::move(*value_);
            value_.reset();
            return out;
        }
    }
    const T& peek_result() const {
        rethrow_if_failed();
        if (!value_) [[unlikely]]
            throw_moved_out();
        return *value_;
    }

private:
    [[noreturn, gnu::cold]] static void throw_moved_out() {
        throw UsageError("the task's result (a move-only type) was moved out by an earlier co_await of the JoinHandle");
    }

    std::optional<T> value_;
    std::optional<T>* result_to_ = &value_;  // (a pointer, not a test: return_value has no branch)
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
public:
    Task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void take_outcome_into(NestedOutcome<void>* out) noexcept { nested_out = out; }
    void take_result() const { rethrow_if_failed(); }
    void read_result() const { rethrow_if_failed(); }
    void peek_result() const { rethrow_if_failed(); }
};

}  // namespace detail

template <class T>
class [[nodiscard("a Task does nothing until it is co_await-ed or spawned")]] Task {
public:
    using promise_type = detail::TaskPromise<T>;
    using value_type = T;

    Task() noexcept = default;
    Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            if (handle_) handle_.destroy();
            handle_ = std::exchange(other.handle_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() {
        if (handle_) handle_.destroy();
    }

    explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

    struct Awaiter {
        Task& task;  // owns the child's frame, unless it freed itself (then it is emptied)
        detail::NestedOutcome<T> outcome;
        bool suspended_inside = false;  // ran as a nested call and suspended before finishing

        // The child runs as a nested call (detail::run_nested), or past the bound starts by
        // symmetric transfer from await_suspend. Either way it leaves its outcome here.
        bool await_ready() noexcept {
            task.handle_.promise().take_outcome_into(&outcome);
            if (!detail::may_run_nested()) return false;
            detail::run_nested_unchecked(task.handle_);
            if (outcome.finished) [[likely]] {
                task.handle_ = {};  // (freed: it had nobody to continue)
                return true;
            }
            suspended_inside = true;
            return false;
        }
        // It suspended inside (its task cannot be resumed before this returns: the worker
        // running it re-queues it only afterwards), or it has not started.
        // (Also takes the outcome: for an awaiter used without await_ready, as IoAwaiter does.)
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
            task.handle_.promise().take_outcome_into(&outcome);
            task.handle_.promise().continuation = awaiting;
            if (suspended_inside) return std::noop_coroutine();
            return task.handle_;
        }
        T await_resume() {
            // (A child that continued us is suspended at its end: ~Task frees it.)
            return outcome.take();
        }
    };

    // Single use: `co_await make_task()` or `co_await std::move(task)`. A nested Task's
    // header never runs on a worker, so `started` marks it spent.
    Awaiter operator co_await() && {
        if (!handle_ || handle_.promise().started) [[unlikely]]
            detail::throw_spent_task("co_await", !handle_);
        handle_.promise().started = true;
        return Awaiter{*this, {}};
    }

private:
    friend struct detail::TaskAccess;
    friend class detail::TaskPromise<T>;
    explicit Task(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}

    std::coroutine_handle<promise_type> handle_;
};

namespace detail {

template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
    return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}

inline Task<void> TaskPromise<void>::get_return_object() noexcept {
    return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

// Runtime internals take ownership of a Task's frame through this.
struct TaskAccess {
    template <class T>
    static std::coroutine_handle<TaskPromise<T>> release(Task<T>& task) noexcept {
        return std::exchange(task.handle_, {});
    }
    // release() for spawning: UsageError (the Task keeps its frame) if it is empty or spent.
    template <class T>
    static std::coroutine_handle<TaskPromise<T>> release_unspent(Task<T>& task, const char* what) {
        if (!task.handle_ || task.handle_.promise().started) [[unlikely]]
            throw_spent_task(what, !task.handle_);
        return std::exchange(task.handle_, {});
    }
    template <class T>
    static TaskPromise<T>& promise(Task<T>& task) noexcept {
        return task.handle_.promise();
    }
};

}  // namespace detail
}  // namespace weft
