// Running several tasks at once and collecting their results.
//
//   auto [user, posts] = co_await weft::gather(load_user(id), load_posts(id));
//   auto pages = co_await weft::gather(std::move(page_tasks));      // vector in, vector out
//   auto outcomes = co_await weft::gather(weft::return_exceptions, a(), b());
//   auto [index, value] = co_await weft::when_any(std::move(mirror_tasks));
//
// gather (asyncio.gather): results in argument order; the first exception propagates at
//   once and the other tasks keep running; if the gathering task is cancelled, every
//   unfinished child is cancelled.
// when_all: like gather, but waits for every task before rethrowing the first failure
//   (in argument order): no task outlives the call.
// when_any: the first task to finish wins; the others are cancelled and waited for; the
//   winner's value is returned (or its exception rethrown).
// All of them start their tasks in argument order (asyncio's order): the tasks go to the back
// of this worker's queue, first-in first-out. On one worker they start exactly in that order;
// with idle workers they run in parallel and their starts may interleave.
#pragma once

#include <cstddef>
#include <exception>
#include <tuple>
#include <utility>
#include <vector>

#include <weft/detail/completion_set.hpp>
#include <weft/join_handle.hpp>
#include <weft/outcome.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

namespace weft {

struct ReturnExceptions {};
inline constexpr ReturnExceptions return_exceptions{};

template <class T>
struct WhenAnyResult {
    std::size_t index;
    result_t<T> value;
};

namespace detail {

enum class GatherMode { fail_fast, all_then_first_failure, collect };

// Waits for `tasks` per `mode` (see the header comment); cancels unfinished ones if the
// waiting task is cancelled. Rethrows a child's failure (fail_fast / all_then...).
Task<void> gather_wait(std::vector<TaskHeader*> tasks, GatherMode mode);

// Waits for the first of `tasks` to finish, cancels and waits out the rest.
Task<std::size_t> first_then_cancel_rest(std::vector<TaskHeader*> tasks);

template <class T>
result_t<T> take(JoinHandle<T>& handle) {
    if constexpr (std::is_void_v<T>) {
        handle.take_ready_result();
        return {};
    } else {
        return handle.take_ready_result();
    }
}

template <class T>
Outcome<T> take_outcome(JoinHandle<T>& handle) {
    try {
        return Outcome<T>::from_value(take(handle));
    } catch (...) {
        return Outcome<T>::from_exception(std::current_exception());
    }
}

template <class Tuple>
std::vector<TaskHeader*> tuple_headers(const Tuple& handles) {
    return std::apply([](const auto&... h) { return std::vector<TaskHeader*>{h.task_header()...}; }, handles);
}

template <class T>
std::vector<JoinHandle<T>> spawn_all(std::vector<Task<T>>&& tasks) {
    std::vector<JoinHandle<T>> handles;
    handles.reserve(tasks.size());
    for (auto& task : tasks) handles.push_back(spawn_last(std::move(task)));  // in argument order
    return handles;
}

template <class T>
std::vector<TaskHeader*> vector_headers(const std::vector<JoinHandle<T>>& handles) {
    std::vector<TaskHeader*> tasks;
    tasks.reserve(handles.size());
    for (const auto& handle : handles) tasks.push_back(handle.task_header());
    return tasks;
}

template <class... Ts>
Task<std::tuple<result_t<Ts>...>> gather_tuple(GatherMode mode, Task<Ts>... tasks) {
    // (A braced list runs left to right: the spawns go in argument order.)
    std::tuple<JoinHandle<Ts>...> handles{spawn_last(std::move(tasks))...};
    co_await gather_wait(tuple_headers(handles), mode);
    co_return std::apply([](auto&... h) { return std::tuple<result_t<Ts>...>{take(h)...}; }, handles);
}

template <class T>
Task<std::vector<result_t<T>>> gather_vector(GatherMode mode, std::vector<Task<T>> tasks) {
    auto handles = spawn_all(std::move(tasks));
    co_await gather_wait(vector_headers(handles), mode);
    std::vector<result_t<T>> results;
    results.reserve(handles.size());
    for (auto& handle : handles) results.push_back(take(handle));
    co_return results;
}

}  // namespace detail

template <class... Ts>
Task<std::tuple<result_t<Ts>...>> gather(Task<Ts>... tasks) {
    return detail::gather_tuple(detail::GatherMode::fail_fast, std::move(tasks)...);
}

template <class T>
Task<std::vector<result_t<T>>> gather(std::vector<Task<T>> tasks) {
    return detail::gather_vector(detail::GatherMode::fail_fast, std::move(tasks));
}

template <class... Ts>
Task<std::tuple<Outcome<Ts>...>> gather(ReturnExceptions, Task<Ts>... tasks) {
    std::tuple<JoinHandle<Ts>...> handles{detail::spawn_last(std::move(tasks))...};
    co_await detail::gather_wait(detail::tuple_headers(handles), detail::GatherMode::collect);
    co_return std::apply([](auto&... h) { return std::tuple<Outcome<Ts>...>{detail::take_outcome(h)...}; }, handles);
}

template <class T>
Task<std::vector<Outcome<T>>> gather(ReturnExceptions, std::vector<Task<T>> tasks) {
    auto handles = detail::spawn_all(std::move(tasks));
    co_await detail::gather_wait(detail::vector_headers(handles), detail::GatherMode::collect);
    std::vector<Outcome<T>> results;
    results.reserve(handles.size());
    for (auto& handle : handles) results.push_back(detail::take_outcome(handle));
    co_return results;
}

template <class... Ts>
Task<std::tuple<result_t<Ts>...>> when_all(Task<Ts>... tasks) {
    return detail::gather_tuple(detail::GatherMode::all_then_first_failure, std::move(tasks)...);
}

template <class T>
Task<std::vector<result_t<T>>> when_all(std::vector<Task<T>> tasks) {
    return detail::gather_vector(detail::GatherMode::all_then_first_failure, std::move(tasks));
}

template <class T>
Task<WhenAnyResult<T>> when_any(std::vector<Task<T>> tasks) {
    if (tasks.empty()) throw UsageError("when_any of no tasks");
    auto handles = detail::spawn_all(std::move(tasks));
    std::size_t winner = co_await detail::first_then_cancel_rest(detail::vector_headers(handles));
    co_return WhenAnyResult<T>{winner, detail::take(handles[winner])};
}

template <class T, class... Rest>
    requires(std::is_same_v<T, Rest> && ...)
Task<WhenAnyResult<T>> when_any(Task<T> first, Task<Rest>... rest) {
    std::vector<Task<T>> tasks;
    tasks.push_back(std::move(first));
    (tasks.push_back(std::move(rest)), ...);
    return when_any(std::move(tasks));
}

}  // namespace weft
