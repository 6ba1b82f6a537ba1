// One call handed to the executor bridge (the blocking pool or the compute arena) and the
// awaiter that waits for it. offload.hpp and compute.hpp are thin shells over this.
//
// A call is one allocation holding the callable, its arguments, its outcome and the
// awaiting task's waker. It has two owners, the awaiter and the executor (refs = 2 once
// submitted); whoever lets go last frees it, so the callable may outlive the awaiting frame.
//
// Protocol (one CAS on `status_` decides every race):
//  1. await_suspend registers the task's waker (prepare_cancellable_suspend), takes a copy of
//     the task's context (ContextVar: the callable runs in it), then submits.
//  2. The executor starts the call with CAS queued -> running. If that fails the awaiter
//     abandoned it first and the callable never runs.
//  3. It runs the callable, stores value or exception, then CAS running -> completing.
//     Won: wake(waker), then store completed (release); after that store the executor never
//     touches the task. Lost (abandoned): the outcome is dropped with the call.
//  4. The resumed awaiter CASes {queued, running} -> abandoned. Winning means it was resumed
//     by cancellation: it asks the callable to stop and throws CancelledError/TimeoutError.
//     Losing means the call completed: it waits out `completing` (the executor is inside
//     wake(), so the task must not finish yet), then takes the outcome (acquire).
//  5. The shutdown's drain, while the loops still run, cancels each task that still waits for
//     its call (cancel_for_shutdown, as asyncio.run cancels a task awaiting an executor): the
//     task is resumed by that cancellation and step 4 abandons the call (its stop_token is
//     stopped) and throws CancelledError, so the task's cleanup runs. The drain reads the task
//     from the call; the awaiter's leave() waits out the drain's `pinned_` so that the task
//     cannot finish while the drain is cancelling it (see cancel_for_shutdown).
//  6. Runtime shutdown, after the loops stopped, may take the awaiter's side of step 4: it
//     abandons the call and wakes the task, which the runtime then ends with RuntimeShutDown.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/task_header.hpp>

namespace weft::detail {

enum class BridgeExecutor : std::uint8_t { blocking, compute };

class InflightCalls;

class BridgeCall {
public:
    BridgeCall(const BridgeCall&) = delete;
    BridgeCall& operator=(const BridgeCall&) = delete;

    // Executor side ------------------------------------------------------------------------
    // Runs the call (or skips it if abandoned before it started), settles it, lets go. Once.
    void execute() noexcept;

    // Shutdown side ------------------------------------------------------------------------
    // The drain (step 5), under the InflightCalls lock: requests the shutdown's cancellation
    // of the awaiting task if it still waits for this call. True if it still waited.
    bool cancel_for_shutdown() noexcept;
    // Takes the awaiter's place (step 6): true if it did, and the task was woken. Only a
    // call not started yet, unless `running_too`.
    bool abandon_for_shutdown(bool running_too) noexcept;
    bool started() const noexcept { return status_.load(memory_order_acquire) != kQueued; }
    std::int64_t started_at_ns() const noexcept { return started_at_ns_.load(memory_order_relaxed); }
    const char* what() const noexcept { return what_; }
    const std::type_info& callable_type() const noexcept { return *callable_; }
    const TaskHeader* task() const noexcept { return waker_.task; }

    // Awaiter side -------------------------------------------------------------------------
    bool suspend(std::coroutine_handle<> awaiting);  // false: a cancellation is pending
    void resume();  // returns when the outcome is ready; throws on cancellation
    void leave() noexcept;  // the awaiter is gone: abandon if still pending, let go

    // Links owned by the executor bridge (scheduler/exec/src/executor_bridge.cpp).
    BridgeCall* queue_next = nullptr;
    BridgeCall* inflight_prev = nullptr;
    BridgeCall* inflight_next = nullptr;
    InflightCalls* inflight = nullptr;

protected:
    BridgeCall(BridgeExecutor executor, const char* what, const std::type_info& callable) noexcept
        : what_(what), callable_(&callable), executor_(executor) {}
    virtual ~BridgeCall() = default;

    virtual void invoke() noexcept = 0;      // runs the callable, stores the outcome
    virtual void on_abandon() noexcept {}  // the awaiter stopped waiting: ask the callable to stop

private:
    static constexpr std::uint8_t kQueued = 0;
    static constexpr std::uint8_t kRunning = 1;
    static constexpr std::uint8_t kCompleting = 2;
    static constexpr std::uint8_t kCompleted = 3;
    static constexpr std::uint8_t kAbandoned = 4;

    void release() noexcept;
    std::uint8_t wait_while_completing(std::uint8_t status) const noexcept;

    Atomic<std::uint8_t> status_{kQueued};
    Atomic<std::uint32_t> refs_{1};
    Atomic<std::int64_t> started_at_ns_{0};
    Atomic<bool> pinned_{false};  // the drain is reading the task (cancel_for_shutdown)
    Waker waker_;
    std::shared_ptr<const ContextMap> context_;  // the awaiting task's ContextVars, for the callable
    const char* what_;
    const std::type_info* callable_;
    BridgeExecutor executor_;
    bool submitted_ = false;  // awaiter side only
};

// Hands `call` to `runtime`'s bridge; throws RuntimeShutDown once the runtime is stopping.
void bridge_submit(RuntimeCore* runtime, BridgeExecutor executor, BridgeCall* call);

// `fn(args...)`, or `fn(stop_token, args...)` for a cooperative callable.
template <class Fn, class... Args>
inline constexpr bool wants_stop_token_v = std::is_invocable_v<Fn, std::stop_token, Args...>;

template <class Fn, class... Args>
struct bridge_result {
    using type = std::invoke_result_t<Fn, Args...>;
};
template <class Fn, class... Args>
    requires wants_stop_token_v<Fn, Args...>
struct bridge_result<Fn, Args...> {
    using type = std::invoke_result_t<Fn, std::stop_token, Args...>;
};
template <class Fn, class... Args>
using bridge_result_t = std::remove_cvref_t<typename bridge_result<Fn, Args...>::type>;

template <class Fn, class... Args>
concept bridge_invocable = std::is_invocable_v<Fn, Args...> || wants_stop_token_v<Fn, Args...>;

// The callable, its arguments (decay-copied, passed as rvalues like std::thread does), the
// outcome, and a stop_source when the callable takes a stop_token.
template <class Fn, class... Args>
class CallPayload {
public:
    using result_type = bridge_result_t<Fn, Args...>;
    static constexpr bool kCooperative = wants_stop_token_v<Fn, Args...>;

    template <class F, class... A>
    explicit CallPayload(F&& fn, A&&... args) : call_(std::in_place, std::forward<F>(fn), std::forward<A>(args)...) {}

    // On the executor thread. The callable and its arguments are destroyed right after.
    void run() noexcept {
        try {
            std::apply([this](Fn& fn, Args&... args) { store(std::move(fn), std::move(args)...); }, *call_);
        } catch (...) {
            error_ = std::current_exception();
        }
        call_.reset();
    }
    void request_stop() noexcept {
        if constexpr (kCooperative) stop_.request_stop();
    }
    void fail(std::exception_ptr error) noexcept { error_ = std::move(error); }

    result_type take() {
        if (error_) std::rethrow_exception(error_);
        if constexpr (!std::is_void_v<result_type>) return std::move(*value_);
    }

private:
    struct Empty {};
    using Stored = std::conditional_t<std::is_void_v<result_type>, Empty, result_type>;

    void store(Fn&& fn, Args&&... args) {
        if constexpr (kCooperative) {
            if constexpr (std::is_void_v<result_type>) {
                std::invoke(std::move(fn), stop_.get_token(), std::move(args)...);
            } else {
                value_.emplace(std::invoke(std::move(fn), stop_.get_token(), std::move(args)...));
            }
        } else {
            if constexpr (std::is_void_v<result_type>) {
                std::invoke(std::move(fn), std::move(args)...);
            } else {
                value_.emplace(std::invoke(std::move(fn), std::move(args)...));
            }
        }
    }

    std::optional<std::tuple<Fn, Args...>> call_;
    std::optional<Stored> value_;
    std::exception_ptr error_;
    [[no_unique_address]] std::conditional_t<kCooperative, std::stop_source, Empty> stop_;
};

// co_await's side of a call: resumes on a worker loop with the outcome. Owns the awaiter's
// reference, so a frame destroyed mid-wait (runtime shutdown) still lets go of the call.
template <class Call>
class [[nodiscard("co_await it")]] BridgeAwaiter {
public:
    explicit BridgeAwaiter(Call* call) noexcept : call_(call) {}
    BridgeAwaiter(BridgeAwaiter&& other) noexcept : call_(std::exchange(other.call_, nullptr)) {}
    BridgeAwaiter& operator=(BridgeAwaiter&&) = delete;
    ~BridgeAwaiter() {
        if (call_) call_->leave();
    }

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> awaiting) { return call_->suspend(awaiting); }
    typename Call::result_type await_resume() {
        call_->resume();
        return call_->take();
    }

private:
    Call* call_;
};

// What offload()/compute() return: single use, `co_await` it once.
template <class Call>
class [[nodiscard("co_await it")]] BridgeAwaitable {
public:
    explicit BridgeAwaitable(Call* call) noexcept : call_(call) {}
    BridgeAwaitable(BridgeAwaitable&& other) noexcept : call_(std::exchange(other.call_, nullptr)) {}
    BridgeAwaitable& operator=(BridgeAwaitable&&) = delete;
    ~BridgeAwaitable() {
        if (call_) call_->leave();  // never awaited: never submitted, just freed
    }

    BridgeAwaiter<Call> operator co_await() && noexcept { return BridgeAwaiter<Call>(std::exchange(call_, nullptr)); }

private:
    Call* call_;
};

}  // namespace weft::detail
