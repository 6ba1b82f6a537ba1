// weft::spawn: start a task concurrently on the current runtime (asyncio.create_task).
//
//   weft::Task<> parent() {
//       auto a = weft::spawn(work(1), "a");
//       auto b = weft::spawn(work(2));
//       co_await a; co_await b;
//   }
//
// The new task goes on this worker's local queue, where idle workers may steal it.
// Outside a runtime's task use Runtime::spawn instead (this throws UsageError).
#pragma once

#include <source_location>
#include <string_view>

#include <weft/detail/context.hpp>
#include <weft/detail/context_inherit.hpp>
#include <weft/detail/fork_join.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/detail/task_hooks.hpp>
#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/task.hpp>

namespace weft {

namespace detail {
// The runtime of the task running on this thread, or UsageError naming `what`.
RuntimeCore* current_runtime_or_throw(const char* what);
}  // namespace detail

template <class T>
[[gnu::always_inline]] inline JoinHandle<T> spawn(Task<T> task, std::string_view name = {},
                                                  std::source_location where = std::source_location::current()) {
    detail::ThreadContext& context = detail::tls_context;
    detail::RuntimeCore* runtime = context.runtime;
    if (!runtime)
        runtime = detail::current_runtime_or_throw("weft::spawn (use Runtime::spawn or weft::run from a plain thread)");
    // (Only the empty check on this fork-join fast path: the already-awaited check cost
    // skynet 5%. Runtime::spawn and the combinators check both.)
    auto handle = detail::TaskAccess::release(task);
    if (!handle) [[unlikely]]
        detail::throw_spent_task("weft::spawn", true);
    detail::hooks::spawned(&handle.promise(), name, where);  // (nothing without WEFT_HOOKS)
    detail::spawn_extras_if_any(&handle.promise(), runtime, where);  // (one branch: context_inherit.hpp)
    if (name.empty()) [[likely]] {
        detail::launch_here(context, &handle.promise(), handle);  // a worker: context.queue is set
    } else {
        detail::launch(runtime, &handle.promise(), handle, name);
    }
    return JoinHandle<T>(&handle.promise());
}

namespace detail {
// spawn() at the back of this worker's round (launch_last): tasks spawned this way in a row
// start in that order. For gather, wait and TaskGroup, whose members start in argument order.
template <class T>
JoinHandle<T> spawn_last(Task<T> task, std::string_view name = {},
                         std::source_location where = std::source_location::current()) {
    RuntimeCore* runtime = tls_context.runtime;
    if (!runtime)
        runtime = current_runtime_or_throw("weft::spawn (use Runtime::spawn or weft::run from a plain thread)");
    auto handle = TaskAccess::release_unspent(task, "weft::spawn");
    hooks::spawned(&handle.promise(), name, where);
    spawn_extras_if_any(&handle.promise(), runtime, where);
    launch_last(runtime, &handle.promise(), handle, name);
    return JoinHandle<T>(&handle.promise());
}
}  // namespace detail

}  // namespace weft
