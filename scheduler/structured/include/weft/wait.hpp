// weft::wait and weft::as_completed (asyncio.wait / asyncio.as_completed) over a vector
// of JoinHandles, which stay owned by the caller.
//
//   auto [done, pending] = co_await weft::wait(handles, weft::FIRST_COMPLETED);
//   for (auto i : pending) handles[i].cancel();
//
//   auto [done, pending] = co_await weft::wait(handles, weft::ALL_COMPLETED, 2s);  // at most 2 s
//
//   auto completed = weft::as_completed(handles, 5s);    // (the timeout is optional)
//   while (auto i = co_await completed.next())           // indices in completion order;
//       total += co_await handles[*i];                   // already finished: no wait
//                                                        // TimeoutError once 5 s have passed
//
// Neither cancels the tasks it watches, not even when the waiting task is cancelled or the
// timeout passes (asyncio's rule). The handles may already have finished, and been awaited
// (`co_await h` keeps them readable): those count as done at once. Each task has one watcher
// at a time: a handle another task is awaiting (or wait()ing on) gets UsageError.
// Timeouts: wait() returns at the deadline with what is done and pending by then; as_completed
// keeps one deadline for the whole iteration: next() returns what has finished, and raises
// TimeoutError once the deadline has passed and it would have to wait (asyncio's behaviour);
// the iteration is then over (every later next() raises too) and the handles are free again.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include <weft/detail/completion_set.hpp>
#include <weft/detail/deadline_after.hpp>
#include <weft/join_handle.hpp>
#include <weft/sleep.hpp>
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

// A deadline of nullopt: none.
Task<WaitResult> wait_headers(std::vector<TaskHeader*> tasks, ReturnWhen when,
                              std::optional<Clock::time_point> deadline);

}  // namespace detail

/// Waits until `when` holds. An empty vector returns at once. Those of the tasks still queued
/// on this worker unstarted (a loop of spawn() may queue them newest first) are first put in
/// argument order, so they start in that order.
template <class T>
Task<WaitResult> wait(std::vector<JoinHandle<T>>& handles, ReturnWhen when = ALL_COMPLETED) {
    return detail::wait_headers(detail::headers_of(handles), when, std::nullopt);
}

/// Like wait(handles, when), but returns when `timeout` has passed (asyncio.wait's timeout):
/// the tasks not finished by then are in `pending`, still running. The clock starts at this call.
template <class T, class Rep, class Period>
Task<WaitResult> wait(std::vector<JoinHandle<T>>& handles, ReturnWhen when,
                      std::chrono::duration<Rep, Period> timeout) {
    return detail::wait_headers(detail::headers_of(handles), when, detail::deadline_after(now(), timeout));
}

/// Yields the indices of `handles` in the order their tasks finish.
class AsCompleted {
public:
    template <class T>
    explicit AsCompleted(std::vector<JoinHandle<T>>& handles, std::optional<Clock::time_point> deadline = std::nullopt)
        : set_(std::make_unique<detail::CompletionSet>(detail::headers_of(handles))), deadline_(deadline) {}

    /// The next finished index; nullopt when all have been reported. A cancellation point.
    /// With a deadline: TimeoutError once it has passed and no finished task is left to report
    /// (the tasks keep running; this object stops watching them).
    Task<std::optional<std::size_t>> next();

private:
    std::unique_ptr<detail::CompletionSet> set_;
    std::optional<Clock::time_point> deadline_;
};

template <class T>
AsCompleted as_completed(std::vector<JoinHandle<T>>& handles) {
    return AsCompleted(handles);
}

/// as_completed with one deadline, `timeout` from now, for the whole iteration.
template <class T, class Rep, class Period>
AsCompleted as_completed(std::vector<JoinHandle<T>>& handles, std::chrono::duration<Rep, Period> timeout) {
    return AsCompleted(handles, detail::deadline_after(now(), timeout));
}

}  // namespace weft
