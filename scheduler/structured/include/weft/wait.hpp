// weft::wait and weft::as_completed (asyncio.wait / asyncio.as_completed) over a vector
// of JoinHandles, which stay owned by the caller.
//
//   auto [done, pending] = co_await weft::wait(handles, weft::FIRST_COMPLETED);
//   for (auto i : pending) handles[i].cancel();
//
//   auto completed = weft::as_completed(handles);
//   while (auto i = co_await completed.next())     // indices in completion order
//       total += co_await handles[*i];             // already finished: no wait
//
// Neither cancels the tasks it watches, not even when the waiting task is cancelled.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include <weft/detail/completion_set.hpp>
#include <weft/join_handle.hpp>
#include <weft/task.hpp>

namespace weft {

enum class ReturnWhen { first_completed, first_exception, all_completed };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::first_completed;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::first_exception;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::all_completed;

/// Indices into the handles given to wait().
struct WaitResult {
    std::vector<std::size_t> done;
    std::vector<std::size_t> pending;
};

namespace detail {

template <class T>
std::vector<TaskHeader*> headers_of(const std::vector<JoinHandle<T>>& handles) {
    std::vector<TaskHeader*> tasks;
    tasks.reserve(handles.size());
    for (const auto& handle : handles) {
        if (!handle.valid()) throw UsageError("wait/as_completed: a JoinHandle is empty (awaited, detached or moved)");
        tasks.push_back(handle.task_header());
    }
    return tasks;
}

Task<WaitResult> wait_headers(std::vector<TaskHeader*> tasks, ReturnWhen when);

}  // namespace detail

/// Waits until `when` holds. An empty vector returns at once. Those of the tasks still queued
/// on this worker unstarted (a loop of spawn() may queue them newest first) are first put in
/// argument order, so they start in that order.
template <class T>
Task<WaitResult> wait(std::vector<JoinHandle<T>>& handles, ReturnWhen when = ALL_COMPLETED) {
    return detail::wait_headers(detail::headers_of(handles), when);
}

/// Yields the indices of `handles` in the order their tasks finish.
class AsCompleted {
public:
    template <class T>
    explicit AsCompleted(std::vector<JoinHandle<T>>& handles)
        : set_(std::make_unique<detail::CompletionSet>(detail::headers_of(handles))) {}

    /// The next finished index; nullopt when all have been reported. A cancellation point.
    detail::CompletionSet::NextAwaiter next() noexcept { return set_->next(); }

private:
    std::unique_ptr<detail::CompletionSet> set_;
};

template <class T>
AsCompleted as_completed(std::vector<JoinHandle<T>>& handles) {
    return AsCompleted(handles);
}

}  // namespace weft
