// weft::ext::TaskHooks: where observability attaches (a task registry for task dumps, a
// debug mode, per-worker metrics), without touching the scheduler's hot paths again.
//
//   #if WEFT_HOOKS   // built with -DWEFT_HOOKS=ON (the `check` preset has it)
//   std::atomic<long> live{0};
//   weft::ext::TaskHooks hooks{
//       .spawned = [](weft::ext::TaskRef, std::string_view, const std::source_location&) { ++live; },
//       .finished = [](weft::ext::TaskRef) { --live; },
//   };
//   weft::ext::set_task_hooks(&hooks);   // process-wide; nullptr detaches
//   #endif
//
// Off by default, at zero cost: without WEFT_HOOKS every call site compiles to nothing (the
// spawn location is a defaulted argument the inlined spawn() then drops), and
// set_task_hooks() throws UsageError. With it, each event costs one load and a branch.
//
// The events, on the thread where they happen (keep hooks short and non-throwing: they run
// inside the scheduler, some under no lock but on the hot path):
//   spawned   before the task is queued (so before any other event of it), with its name
//             and where spawn() was called
//   resumed / suspended   around each time a worker runs it (a child that runs inline in
//             its joiner runs as part of that joiner: it has no events of its own)
//   finished  once, when its outcome is decided (returned, failed, cancelled, or abandoned
//             by a runtime that shut down)
// Per-worker counters (WorkerCounters below) are kept in every build: they are part of
// weft::RuntimeMetrics (runtime_metrics.hpp), which has more of them.
#pragma once

#include <cstdint>
#include <source_location>
#include <string_view>
#include <vector>

#ifndef WEFT_HOOKS
#define WEFT_HOOKS 0
#endif

namespace weft {
class Runtime;
namespace detail {
class TaskHeader;
}
}  // namespace weft

namespace weft::ext {

inline constexpr bool kHooksCompiledIn = WEFT_HOOKS != 0;

/// A task as a hook sees it: valid for the duration of the call.
class TaskRef {
public:
    explicit TaskRef(detail::TaskHeader* task) noexcept : task_(task) {}
    std::uint64_t id() const noexcept;        // unique, never 0 (given out on first ask)
    std::string_view name() const noexcept;   // empty if it was spawned without one
    const void* address() const noexcept { return task_; }  // stable while the task lives

private:
    detail::TaskHeader* task_;
};

struct TaskHooks {
    void (*spawned)(TaskRef task, std::string_view name, const std::source_location& where) = nullptr;
    void (*resumed)(TaskRef task, unsigned worker) = nullptr;
    void (*suspended)(TaskRef task, unsigned worker) = nullptr;
    void (*finished)(TaskRef task) = nullptr;
};

/// Installs `hooks` for every runtime of the process (nullptr: none). The object must outlive
/// its installation. Throws UsageError if weft was built without WEFT_HOOKS.
void set_task_hooks(const TaskHooks* hooks);

/// What each worker counts (a subset of weft::Runtime::metrics(), kept for hook writers). Read
/// while the runtime runs, the figures are a moment's, each exact for its own worker.
struct WorkerCounters {
    std::uint64_t resumes = 0;        // tasks run (each resume once)
    std::uint64_t steals = 0;         // steal operations that found work
    std::uint64_t parks = 0;          // times it went to sleep for lack of work
    std::uint64_t injected_taken = 0; // tasks taken from the injection queue
};
std::vector<WorkerCounters> worker_counters(Runtime& runtime);

}  // namespace weft::ext
