// Where a task goes: the one placement decision (place()), and the one "is this thread a
// worker of that runtime?" test (own_worker()). Launching a spawned task ends here too.
#include "task_placement.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <string>

#include <weft/detail/context.hpp>
#include <weft/detail/fork_join.hpp>
#include <weft/detail/task_transitions.hpp>
#include <weft/error.hpp>

#include "runtime_core.hpp"
#include "worker.hpp"

namespace weft::detail {

void placement_failed(TaskHeader* task) noexcept {
    spdlog::critical("weft: out of memory while scheduling task {}", task->id());
    std::terminate();
}

namespace {
[[gnu::noinline, noreturn]] void refuse_launch(std::coroutine_handle<> root) {
    root.destroy();
    throw RuntimeShutDown("spawn on a runtime that has shut down");
}
[[gnu::noinline]] void name_task(TaskHeader* task, std::string_view name) { task->set_name(name); }

void launch_as(RuntimeCore* runtime, TaskHeader* task, std::coroutine_handle<> root, std::string_view name,
               Placement where) {
    if (runtime->stopping()) [[unlikely]]
        refuse_launch(root);
    task->root = root;  // (its first resume starts here: resume_point is set when it suspends)
    task->runtime = runtime;
    if (!name.empty()) [[unlikely]]
        name_task(task, name);
    transition::spawned(task, runtime->draining());
    place(task, where);
}
}  // namespace

void push_spawned_slow(TaskHeader* task) {
    if (task->runtime->stopping()) refuse_launch(task->root);
    transition::spawned(task, task->runtime->draining());  // (not published yet)
    tls_context.worker->push_spawned(task);
}

void launch(RuntimeCore* runtime, TaskHeader* task, std::coroutine_handle<> root, std::string_view name) {
    launch_as(runtime, task, root, name, Placement::spawned);
}

void launch_last(RuntimeCore* runtime, TaskHeader* task, std::coroutine_handle<> root, std::string_view name) {
    launch_as(runtime, task, root, name, Placement::last);
}

RuntimeCore* current_runtime_or_throw(const char* what) {
    Worker* worker = tls_context.worker;
    if (!worker) throw UsageError(std::string(what) + ": called outside a weft runtime");
    return &worker->core();
}

bool current_runtime_shutting_down() noexcept {
    Worker* worker = tls_context.worker;
    return worker && worker->core().phase() != RuntimeCore::kRunning;
}

void begin_current_runtime_shutdown() noexcept {
    if (Worker* worker = tls_context.worker) worker->core().begin_drain();
}

bool on_worker_of(const RuntimeCore& runtime) noexcept { return own_worker(&runtime) != nullptr; }

}  // namespace weft::detail
