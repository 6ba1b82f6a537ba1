// Running several tasks at once and collecting their results.
//
//   auto [user, posts] = co_await weft::gather(load_user(id), load_posts(id));
//   auto pages = co_await weft::gather(std::move(page_tasks));      // vector in, vector out
//   auto outcomes = co_await weft::gather(weft::return_exceptions, a(), b());
//   auto [index, value] = co_await weft::when_any(std::move(mirror_tasks));
//
//   auto h = weft::spawn(load_user(id));                    // tasks already started:
//   auto [u, p] = co_await weft::gather(h, load_posts(id));  // h stays readable (h.result())
//   auto all = co_await weft::gather(handles);               // vector<JoinHandle<T>>&: kept
//   auto mine = co_await weft::gather(std::move(handles));   // taken, as co_await std::move(h)
//
// gather (asyncio.gather): results in argument order; the first exception propagates at
//   once and the other tasks keep running; if the gathering task is cancelled, every
//   unfinished child is cancelled.
// when_all: like gather, but waits for every task before rethrowing the first failure
//   (in argument order): no task outlives the call.
// when_any: the first task to finish wins; the others are cancelled and waited for; the
//   winner's value is returned (or its exception rethrown).
// What gather and when_all accept, freely mixed: Tasks (started here), JoinHandles by rvalue
// (taken: the frame is freed as by `co_await std::move(h)`) and JoinHandles by lvalue (read:
// the caller's handle keeps the task and its result, as after `co_await h`, so a result is a
// copy; a move-only one is moved out). Their Tasks start in argument order (asyncio's order):
// the tasks go to the back of this worker's queue, first-in first-out. On one worker they
// start exactly in that order; with idle workers they run in parallel and their starts may
// interleave. A Task or a vector of Tasks passed by lvalue is refused at compile time with a
// message saying std::move (gather takes the Tasks over).
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

// ---- what a gather argument becomes -----------------------------------------------------------
// A Task is spawned into an owned JoinHandle; a JoinHandle rvalue is owned (taken at the end);
// a JoinHandle lvalue is Borrowed (read at the end, the caller keeps it).
template <class T>
struct Borrowed {
    JoinHandle<T>* handle;
};

template <class A>
struct GatherArg : std::false_type {};
template <class T>
struct GatherArg<Task<T>> : std::true_type {
    using item = T;
    using stored = Task<T>;
};
template <class T>
struct GatherArg<JoinHandle<T>> : std::true_type {
    using item = T;
    using stored = JoinHandle<T>;
};
template <class T>
struct GatherArg<JoinHandle<T>&> : std::true_type {
    using item = T;
    using stored = Borrowed<T>;
};
template <class T>
struct GatherArg<Borrowed<T>> : std::true_type {  // (as stored in the gathering frame)
    using item = T;
    using stored = Borrowed<T>;
};

// What gather accepts: a Task rvalue, a JoinHandle rvalue, a (non-const) JoinHandle lvalue.
template <class A>
concept gatherable = GatherArg<std::conditional_t<std::is_lvalue_reference_v<A>, A, std::remove_cvref_t<A>>>::value;
template <class A>
using gather_value_t =
    typename GatherArg<std::conditional_t<std::is_lvalue_reference_v<A>, A, std::remove_cvref_t<A>>>::item;
template <class A>
using gather_stored_t =
    typename GatherArg<std::conditional_t<std::is_lvalue_reference_v<A>, A, std::remove_cvref_t<A>>>::stored;

template <class A>
inline constexpr bool is_task_lvalue = false;
template <class T>
inline constexpr bool is_task_lvalue<Task<T>&> = true;
template <class T>
inline constexpr bool is_task_lvalue<const Task<T>&> = true;

[[noreturn]] inline void throw_empty_gather_handle() {
    throw UsageError("gather: a JoinHandle is empty (its result was taken, or it was detached or moved)");
}

// Checked in the call, before the gathering coroutine starts any Task: bad input spawns nothing.
template <class A>
gather_stored_t<A> gather_arg(A&& arg) {
    if constexpr (requires { arg.valid(); }) {
        if (!arg.valid()) throw_empty_gather_handle();
    }
    if constexpr (std::is_lvalue_reference_v<A>) {
        return Borrowed<gather_value_t<A>>{&arg};
    } else {
        return std::move(arg);
    }
}

// In the gathering coroutine: Tasks become JoinHandles (spawned in argument order).
template <class T>
JoinHandle<T> start(Task<T>&& task) {
    return spawn_last(std::move(task));
}
template <class T>
JoinHandle<T> start(JoinHandle<T>&& handle) {
    return std::move(handle);
}
template <class T>
Borrowed<T> start(Borrowed<T>&& borrowed) {
    return borrowed;
}

template <class T>
TaskHeader* header_of(const JoinHandle<T>& handle) {
    if (!handle.valid()) throw_empty_gather_handle();
    return handle.task_header();
}
template <class T>
TaskHeader* header_of(const Borrowed<T>& borrowed) {
    return header_of(*borrowed.handle);
}

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
result_t<T> take(Borrowed<T>& borrowed) {
    if constexpr (std::is_void_v<T>) {
        borrowed.handle->read_ready_result();
        return {};
    } else {
        return borrowed.handle->read_ready_result();
    }
}

template <class T, class Started>
Outcome<T> take_outcome_of(Started& started) {
    try {
        return Outcome<T>::from_value(take(started));
    } catch (...) {
        return Outcome<T>::from_exception(std::current_exception());
    }
}

template <class Tuple>
std::vector<TaskHeader*> tuple_headers(const Tuple& started) {
    return std::apply([](const auto&... s) { return std::vector<TaskHeader*>{header_of(s)...}; }, started);
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
    for (const auto& handle : handles) tasks.push_back(header_of(handle));
    return tasks;
}

// (Args: Task<T>, JoinHandle<T> or Borrowed<T>, by value in the frame.)
template <class... Args>
Task<std::tuple<result_t<typename GatherArg<Args>::item>...>> gather_tuple(GatherMode mode, Args... args) {
    // (A braced list runs left to right: the spawns go in argument order.)
    std::tuple<decltype(start(std::move(args)))...> started{start(std::move(args))...};
    co_await gather_wait(tuple_headers(started), mode);
    co_return std::apply([](auto&... s) { return std::tuple<result_t<typename GatherArg<Args>::item>...>{take(s)...}; },
                         started);
}

template <class... Args>
Task<std::tuple<Outcome<typename GatherArg<Args>::item>...>> gather_outcomes(Args... args) {
    std::tuple<decltype(start(std::move(args)))...> started{start(std::move(args))...};
    co_await gather_wait(tuple_headers(started), GatherMode::collect);
    co_return std::apply(
        [](auto&... s) {
            return std::tuple<Outcome<typename GatherArg<Args>::item>...>{
                take_outcome_of<typename GatherArg<Args>::item>(s)...};
        },
        started);
}

// Owned handles (taken) or the caller's (read: `Borrow`).
template <class T, bool Borrow>
Task<std::vector<result_t<T>>> gather_handles(GatherMode mode, std::vector<JoinHandle<T>>* borrowed,
                                              std::vector<JoinHandle<T>> owned) {
    std::vector<JoinHandle<T>>& handles = Borrow ? *borrowed : owned;
    co_await gather_wait(vector_headers(handles), mode);
    std::vector<result_t<T>> results;
    results.reserve(handles.size());
    for (auto& handle : handles) {
        if constexpr (Borrow) {
            Borrowed<T> one{&handle};
            results.push_back(take(one));
        } else {
            results.push_back(take(handle));
        }
    }
    co_return results;
}

template <class T, bool Borrow>
Task<std::vector<Outcome<T>>> gather_handle_outcomes(std::vector<JoinHandle<T>>* borrowed,
                                                     std::vector<JoinHandle<T>> owned) {
    std::vector<JoinHandle<T>>& handles = Borrow ? *borrowed : owned;
    co_await gather_wait(vector_headers(handles), GatherMode::collect);
    std::vector<Outcome<T>> results;
    results.reserve(handles.size());
    for (auto& handle : handles) {
        if constexpr (Borrow) {
            Borrowed<T> one{&handle};
            results.push_back(take_outcome_of<T>(one));
        } else {
            results.push_back(take_outcome_of<T>(handle));
        }
    }
    co_return results;
}

template <class T>
Task<std::vector<result_t<T>>> gather_vector(GatherMode mode, std::vector<Task<T>> tasks) {
    co_return co_await gather_handles<T, false>(mode, nullptr, spawn_all(std::move(tasks)));
}

}  // namespace detail

// `= delete("why")` (C++26, which clang 19 accepts as an extension): the compiler prints the
// reason. Elsewhere a plain `= delete`; g++ then quotes the declaration's first line, where
// the parameter's name (pass_std_move_tasks) says it.
#if defined(__clang__) && __clang_major__ >= 19
#define WEFT_DELETED_BECAUSE(reason) \
    _Pragma("clang diagnostic push") \
        _Pragma("clang diagnostic ignored \"-Wc++26-extensions\"") delete (reason)_Pragma("clang diagnostic pop")
#else
#define WEFT_DELETED_BECAUSE(reason) delete
#endif

template <class... As>
    requires(detail::gatherable<As> && ...)
Task<std::tuple<result_t<detail::gather_value_t<As>>...>> gather(As&&... args) {
    return detail::gather_tuple(detail::GatherMode::fail_fast, detail::gather_arg<As>(std::forward<As>(args))...);
}

template <class... As>
    requires(detail::gatherable<As> && ...)
Task<std::tuple<Outcome<detail::gather_value_t<As>>...>> gather(ReturnExceptions, As&&... args) {
    return detail::gather_outcomes(detail::gather_arg<As>(std::forward<As>(args))...);
}

template <class... As>
    requires(detail::gatherable<As> && ...)
Task<std::tuple<result_t<detail::gather_value_t<As>>...>> when_all(As&&... args) {
    return detail::gather_tuple(detail::GatherMode::all_then_first_failure,
                                detail::gather_arg<As>(std::forward<As>(args))...);
}

template <class... As>
    requires(detail::is_task_lvalue<As &&> || ...)
void gather(As&&... pass_std_move_task) =
    WEFT_DELETED_BECAUSE("weft::gather takes its Tasks over: pass std::move(task)");
template <class... As>
    requires(detail::is_task_lvalue<As &&> || ...)
void gather(ReturnExceptions,
            As&&...) = WEFT_DELETED_BECAUSE("weft::gather takes its Tasks over: pass std::move(task)");
template <class... As>
    requires(detail::is_task_lvalue<As &&> || ...)
void when_all(As&&... pass_std_move_task) =
    WEFT_DELETED_BECAUSE("weft::when_all takes its Tasks over: pass std::move(task)");

// ---- vectors ----------------------------------------------------------------------------------

template <class T>
Task<std::vector<result_t<T>>> gather(std::vector<Task<T>>&& tasks) {
    return detail::gather_vector(detail::GatherMode::fail_fast, std::move(tasks));
}
template <class T>
void gather(const std::vector<Task<T>>& pass_std_move_tasks) =
    WEFT_DELETED_BECAUSE("weft::gather takes the vector of Tasks over: pass std::move(tasks)");

/// The caller's handles: they keep their tasks and results (each result here is a copy).
template <class T>
Task<std::vector<result_t<T>>> gather(std::vector<JoinHandle<T>>& handles) {
    return detail::gather_handles<T, true>(detail::GatherMode::fail_fast, &handles, {});
}
/// Handles given up: their results are taken and the tasks freed.
template <class T>
Task<std::vector<result_t<T>>> gather(std::vector<JoinHandle<T>>&& handles) {
    return detail::gather_handles<T, false>(detail::GatherMode::fail_fast, nullptr, std::move(handles));
}

template <class T>
Task<std::vector<Outcome<T>>> gather(ReturnExceptions, std::vector<Task<T>>&& tasks) {
    return detail::gather_handle_outcomes<T, false>(nullptr, detail::spawn_all(std::move(tasks)));
}
template <class T>
void gather(ReturnExceptions, const std::vector<Task<T>>& pass_std_move_tasks) =
    WEFT_DELETED_BECAUSE("weft::gather takes the vector of Tasks over: pass std::move(tasks)");
template <class T>
Task<std::vector<Outcome<T>>> gather(ReturnExceptions, std::vector<JoinHandle<T>>& handles) {
    return detail::gather_handle_outcomes<T, true>(&handles, {});
}
template <class T>
Task<std::vector<Outcome<T>>> gather(ReturnExceptions, std::vector<JoinHandle<T>>&& handles) {
    return detail::gather_handle_outcomes<T, false>(nullptr, std::move(handles));
}

template <class T>
Task<std::vector<result_t<T>>> when_all(std::vector<Task<T>>&& tasks) {
    return detail::gather_vector(detail::GatherMode::all_then_first_failure, std::move(tasks));
}
template <class T>
void when_all(const std::vector<Task<T>>& pass_std_move_tasks) =
    WEFT_DELETED_BECAUSE("weft::when_all takes the vector of Tasks over: pass std::move(tasks)");
template <class T>
Task<std::vector<result_t<T>>> when_all(std::vector<JoinHandle<T>>& handles) {
    return detail::gather_handles<T, true>(detail::GatherMode::all_then_first_failure, &handles, {});
}
template <class T>
Task<std::vector<result_t<T>>> when_all(std::vector<JoinHandle<T>>&& handles) {
    return detail::gather_handles<T, false>(detail::GatherMode::all_then_first_failure, nullptr, std::move(handles));
}

namespace detail {
template <class T>
Task<WhenAnyResult<T>> when_any_tasks(std::vector<Task<T>> tasks) {
    if (tasks.empty()) throw UsageError("when_any of no tasks");
    auto handles = spawn_all(std::move(tasks));
    std::size_t winner = co_await first_then_cancel_rest(vector_headers(handles));
    co_return WhenAnyResult<T>{winner, take(handles[winner])};
}
}  // namespace detail

template <class T>
Task<WhenAnyResult<T>> when_any(std::vector<Task<T>>&& tasks) {
    return detail::when_any_tasks(std::move(tasks));
}
template <class T>
void when_any(const std::vector<Task<T>>& pass_std_move_tasks) =
    WEFT_DELETED_BECAUSE("weft::when_any takes the vector of Tasks over: pass std::move(tasks)");

template <class T, class... Rest>
    requires(std::is_same_v<T, Rest> && ...)
Task<WhenAnyResult<T>> when_any(Task<T> first, Task<Rest>... rest) {
    std::vector<Task<T>> tasks;
    tasks.push_back(std::move(first));
    (tasks.push_back(std::move(rest)), ...);
    return when_any(std::move(tasks));
}

}  // namespace weft
