// The task registry's recording (task_trace.hpp, worker_trace.hpp): what a task awaits, and
// each traced resume.
#include <weft/detail/task_trace.hpp>

#include <spdlog/spdlog.h>

#include <chrono>

#include <weft/detail/task_header.hpp>
#include <weft/timeout.hpp>

#include "worker_trace.hpp"

namespace weft::detail {

std::uint64_t steady_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

namespace {

TaskTrace* trace_of(const TaskHeader* task) noexcept {
    const TaskExtras* extras = task->extras_if_any();
    return extras ? extras->trace : nullptr;
}

std::int64_t scope_deadline(const TaskHeader* task) noexcept {
    const TaskExtras* extras = task->extras_if_any();
    if (!extras || !extras->innermost_scope) return 0;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(extras->innermost_scope->when().time_since_epoch())
        .count();
}

}  // namespace

void note_await_slow(TaskHeader* self, AwaitKind kind, const char* what, const void* object,
                     std::uint64_t arg) noexcept {
    // A child running inline in `self` awaits as `self` (its wakers address the host) but is
    // the task whose code waits: the record goes to it.
    TaskHeader* task = innermost_task(self);
    TaskTrace* trace = trace_of(task);
    if (!trace) return;  // a runtime without a registry (another one has one)
    if (kind == AwaitKind::task) arg = static_cast<const TaskHeader*>(object)->id();
    std::int64_t deadline = scope_deadline(task);
    if (deadline == 0 && task != self) deadline = scope_deadline(self);
    trace->await_what.store(what, memory_order_relaxed);
    trace->await_object.store(object, memory_order_relaxed);
    trace->await_arg.store(arg, memory_order_relaxed);
    trace->scope_deadline.store(deadline, memory_order_relaxed);
    trace->await_kind.store(static_cast<std::uint8_t>(kind), memory_order_relaxed);
}

namespace {

[[gnu::noinline]] void log_slow_resume(WorkerTrace& worker, std::uint64_t resume, const TaskHeader* task,
                                       const TaskTrace* trace, std::uint64_t took_ns) noexcept {
    try {
        std::string who;
        {
            std::lock_guard lock(worker.culprit_mutex);
            if (worker.culprit_resume == resume) who = worker.culprit;  // the watchdog saw who
        }
        if (who.empty())
            who = fmt::format("task {} '{}' (spawned at {}:{})", task->id(), task->name_view(),
                              trace ? trace->where.file_name() : "?", trace ? trace->where.line() : 0);
        spdlog::warn("weft debug: {} ran {} ms on worker {} without suspending (threshold {} ms): a blocking call "
                     "or a long computation on the loop? (offload it)",
                     who, took_ns / 1'000'000, worker.index, worker.slow_ns / 1'000'000);
    } catch (...) {
    }
}

}  // namespace

void traced_resume(WorkerTrace& worker, TaskHeader* task, std::coroutine_handle<> resume) noexcept {
    TaskTrace* trace = trace_of(task);
    if (trace) {
        trace->await_kind.store(0, memory_order_relaxed);
        trace->worker.store(static_cast<std::int32_t>(worker.index), memory_order_relaxed);
    }
    if (TaskHeader* inner = task->inline_innermost) {  // (this worker's to read: the task is ours now)
        if (TaskTrace* inner_trace = trace_of(innermost_task(inner))) {
            inner_trace->await_kind.store(0, memory_order_relaxed);
            inner_trace->worker.store(static_cast<std::int32_t>(worker.index), memory_order_relaxed);
        }
    }
    const std::uint64_t start = steady_ns();
    worker.task_id.store(trace ? task->id() : 0, memory_order_relaxed);
    const std::uint64_t resume_number = worker.resume_count.load(memory_order_relaxed) + 1;
    worker.resume_count.store(resume_number, memory_order_relaxed);
    worker.started_ns.store(start, memory_order_release);
    resume.resume();
    const std::uint64_t took = steady_ns() - start;
    worker.started_ns.store(0, memory_order_release);
    // The task is alive here: it is running (or done but not completed yet) until run_task's
    // end_resume/complete.
    if (trace) {
        trace->resumes.store(trace->resumes.load(memory_order_relaxed) + 1, memory_order_relaxed);
        trace->busy_ns.store(trace->busy_ns.load(memory_order_relaxed) + took, memory_order_relaxed);
    }
    if (worker.slow_ns && took > worker.slow_ns) [[unlikely]]
        log_slow_resume(worker, resume_number, task, trace, took);
}

}  // namespace weft::detail
