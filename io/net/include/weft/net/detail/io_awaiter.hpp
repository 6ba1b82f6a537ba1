// The awaitable behind every socket operation: try the operation inline, and only if it
// would block, run the driver's slow path (a small coroutine that waits and retries).
//
// An Op (ops.hpp) is a value type describing one operation; the I/O driver performs it
// (io_driver.hpp): try_now() on the fast path, which needs no registration and no
// allocation; complete() on the slow path, which allocates one coroutine frame (from the
// frame pools) and registers the descriptor.
//
// A closed (or moved-from) descriptor throws UsageError before any syscall.
// Cancellation: a pending cancellation is thrown before the first attempt, and every wait
// for readiness is a cancellation point. An operation that completes (even partially, like
// read_exact) has consumed its bytes; read() and recv_from() consume nothing when they throw.
//
// Fairness: after kIoBudget operations in a row complete without waiting on one thread,
// the next one yields first (Tokio's coop budget), so a peer that keeps a socket ready
// cannot starve the loop's other tasks.
#pragma once

#include <coroutine>
#include <optional>
#include <utility>

#include <weft/detail/context.hpp>
#include <weft/detail/io_operation.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/net/detail/descriptor.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

namespace weft::net::detail {

inline constexpr unsigned kIoBudget = 128;
inline thread_local unsigned io_streak = 0;  // fast completions in a row on this thread

inline void throw_if_cancel_pending() {
    weft::detail::TaskHeader* task = weft::detail::tls_context.task;
    if (task && weft::detail::cancel_pending(task)) weft::detail::throw_if_cancelled(task);
}

template <class Op>
class [[nodiscard("co_await it")]] IoAwaiter {
public:
    using value_type = typename Op::value_type;

    IoAwaiter(Descriptor& descriptor, Op op) noexcept : descriptor_(&descriptor), op_(std::move(op)) {}

    bool await_ready() {
        descriptor_->require_open();  // op_ holds the fd number: never use it after close()
        throw_if_cancel_pending();
        if (++io_streak > kIoBudget) {
            yield_first_ = true;
            return false;
        }
        value_ = weft::detail::try_now(descriptor_->registered(), op_);
        return value_.has_value();
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
        io_streak = 0;
        slow_ = weft::detail::complete(*descriptor_, std::move(op_), yield_first_);
        slow_awaiter_.emplace(std::move(slow_).operator co_await());  // a Task is awaited once
        return slow_awaiter_->await_suspend(awaiting);
    }
    value_type await_resume() {
        if (value_) return std::move(*value_);
        return slow_awaiter_->await_resume();
    }

private:
    Descriptor* descriptor_;
    Op op_;
    bool yield_first_ = false;
    std::optional<value_type> value_;
    Task<value_type> slow_;
    std::optional<typename Task<value_type>::Awaiter> slow_awaiter_;
};

}  // namespace weft::net::detail
