// co_await weft::shield(task): protect work from the awaiting task's cancellation
// (asyncio.shield).
//
//   weft::Task<> handler(Request r) {
//       co_await weft::shield(write_audit_log(r));   // finishes even if handler is cancelled
//   }
//
// The inner task runs as its own spawned task. If the awaiting task is cancelled (or
// its timeout expires), the await throws at once but the inner task runs on to its end;
// its outcome is then dropped (a failure is logged). Without cancellation the await
// returns the inner task's result or rethrows its exception.
#pragma once

#include <utility>

#include <weft/detail/awaitable.hpp>
#include <weft/join_handle.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

namespace weft {

template <class T>
class [[nodiscard("co_await it")]] Shielded {
public:
    explicit Shielded(JoinHandle<T> handle) noexcept : handle_(std::move(handle)) {}
    /// Whether the inner task has finished.
    bool done() const { return handle_.done(); }
    typename JoinHandle<T>::template BasicAwaiter<false> operator co_await() && noexcept {
        return typename JoinHandle<T>::template BasicAwaiter<false>(handle_);  // does not propagate
    }

private:
    JoinHandle<T> handle_;
};

template <class T>
Shielded<T> shield(Task<T> task) {
    return Shielded<T>(spawn(std::move(task), "shielded"));
}

template <class T>
Shielded<T> shield(JoinHandle<T>&& handle) noexcept {
    return Shielded<T>(std::move(handle));
}

namespace detail {
template <class T>
inline constexpr ExpiredWaitFor expired_wait_for<Shielded<T>> = ExpiredWaitFor::result_if_done;
}  // namespace detail

}  // namespace weft
