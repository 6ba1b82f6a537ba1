// The awaitable behind every socket operation: try the syscall inline, and only if it
// would block, run a small coroutine that waits for readiness and retries.
//
// An Op is a value type describing one operation, moved into the slow path if needed:
//   using value_type = ...;                      // what co_await returns
//   static constexpr Interest interest = ...;    // what it waits for
//   std::optional<value_type> step(IoSource* s); // one attempt: a value when done,
//        nullopt when it would block (after s->clear_ready(seen, interest) if s), or throws
// step() follows io_source.hpp's pattern: snapshot readiness, syscall, on EAGAIN
// clear_ready(snapshot). The fast path needs no registration and no allocation; the slow
// path allocates one coroutine frame (from the frame pools) and registers the descriptor.
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
Task<typename Op::value_type> io_slow_path(Descriptor* descriptor, Op op, bool yield_first) {
    if (yield_first) {
        co_await weft::yield_now();
        descriptor->require_open();
        if (auto value = op.step(descriptor->registered())) co_return std::move(*value);
    }
    IoSource* source = descriptor->source();
    for (;;) {
        co_await source->ready(Op::interest);
        if (auto value = op.step(source)) co_return std::move(*value);
    }
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
        value_ = op_.step(descriptor_->registered());
        return value_.has_value();
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
        io_streak = 0;
        slow_ = io_slow_path(descriptor_, std::move(op_), yield_first_);
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
