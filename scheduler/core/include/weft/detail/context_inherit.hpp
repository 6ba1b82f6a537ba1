// What spawn() does besides queueing, for features a program may never use: a child task
// starts with a copy of its spawner's context (ContextVar, context_var.hpp), and a runtime
// built with RuntimeOptions::track_tasks lists it in all_tasks() (all_tasks.hpp). Kept free
// for programs that use neither: spawn tests one process-wide flag (a load from a line nobody
// writes after it was raised, and a branch that is always predicted) and only when it is up
// calls spawn_extras().
#pragma once

#include <source_location>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

class TaskHeader;
class RuntimeCore;

// Raised by the first ContextVar::set() (or Context::run()) of the process and by the first
// runtime that tracks its tasks; never lowered. Relaxed: a context is set on the thread that
// then spawns from it, and a runtime is built before anything spawns on it.
inline Atomic<bool> g_spawn_extras{false};

// The slow path: gives `child` (not yet published) the context of the code running on this
// thread (the innermost task's, or this thread's own outside tasks) if it has one, and
// registers it with `runtime`'s task registry if it keeps one (with `where` it was spawned).
void spawn_extras(TaskHeader* child, RuntimeCore* runtime, const std::source_location& where) noexcept;

[[gnu::always_inline]] inline void spawn_extras_if_any(TaskHeader* child, RuntimeCore* runtime,
                                                       const std::source_location& where) noexcept {
    if (g_spawn_extras.load(memory_order_relaxed)) [[unlikely]]
        spawn_extras(child, runtime, where);
}

}  // namespace weft::detail
