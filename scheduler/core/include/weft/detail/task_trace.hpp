// What the task registry (RuntimeOptions::task_registry, debug mode; task_dump.hpp) knows about
// one live task besides its header: where it was spawned, by whom, how often and how long it
// ran, and what it awaits now.
//
// Cost when no runtime keeps a registry: each awaiter's *suspend* path (never the path that
// completes without suspending) calls note_await(), which tests one process-wide flag (raised
// by the first runtime with a registry, never lowered; a line nobody writes afterwards) and
// does nothing else. With the flag up, note_await_slow() finds the task's trace through its
// extras (a task of a runtime without a registry has none and is skipped).
//
// Writers and readers: the running task writes its own await (in its await_suspend), its
// worker writes worker/resumes/busy time and clears the await before each resume; a dump reads
// them from any thread under the registry's lock (which keeps the entry alive). All fields are
// relaxed atomics: a dump is a moment's picture, each field exact, the set of them not one
// atomic snapshot.
#pragma once

#include <cstdint>
#include <source_location>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

class TaskHeader;

// What a suspended task awaits (the JSON's "awaiting.kind", task_dump.hpp).
enum class AwaitKind : std::uint8_t {
    none,       // not recorded (running, scheduled, or an awaitable that does not say)
    sleep,      // arg: deadline (steady_clock ns)
    primitive,  // a weft::sync primitive: `what` names it (lock, semaphore, event, condition, queue...)
    socket,     // arg: fd << 1 | (1 if waiting to write)
    task,       // arg: the awaited task's id
    tasks,      // a TaskGroup, gather(), wait(), as_completed(): its members
    offload,    // `what` names the call (offload, compute)
    other,      // `what` names it
};

struct TaskTrace {
    std::source_location where;   // spawn()'s caller
    std::uint64_t parent = 0;     // the id of the task that spawned it (0: a plain thread)
    Atomic<std::uint8_t> await_kind{0};
    Atomic<const char*> await_what{nullptr};  // a string literal
    Atomic<const void*> await_object{nullptr};
    Atomic<std::uint64_t> await_arg{0};
    Atomic<std::int64_t> scope_deadline{0};  // innermost timeout scope's deadline (steady ns), 0: none
    Atomic<std::int32_t> worker{-1};         // the worker that last resumed it
    Atomic<std::uint64_t> resumes{0};
    Atomic<std::uint64_t> busy_ns{0};
};

// Raised by the first runtime that keeps a task registry.
inline Atomic<bool> g_trace_awaits{false};

void note_await_slow(TaskHeader* self, AwaitKind kind, const char* what, const void* object,
                     std::uint64_t arg) noexcept;

// Records what `self` (the task running on this thread) is about to await. Call it in the
// suspend path only, once the awaiter has decided to suspend (or just before).
[[gnu::always_inline]] inline void note_await(TaskHeader* self, AwaitKind kind, const char* what,
                                              const void* object = nullptr, std::uint64_t arg = 0) noexcept {
    if (g_trace_awaits.load(memory_order_relaxed)) [[unlikely]]
        note_await_slow(self, kind, what, object, arg);
}

}  // namespace weft::detail
