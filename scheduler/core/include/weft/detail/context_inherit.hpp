// What spawn() does for ContextVar (context_var.hpp): a child task starts with a copy of its
// spawner's context. Kept free for programs that never set a ContextVar: spawn tests one
// process-wide flag (a load from a line nobody writes after the first set(), and a branch that
// is always predicted), and only when it is up looks for the spawner's context.
#pragma once

#include <weft/detail/atomic.hpp>

namespace weft::detail {

class TaskHeader;

// Raised by the first ContextVar::set() (or Context::run()) of the process; never lowered.
// A relaxed flag suffices: a context is always set on the thread that then spawns from it.
inline Atomic<bool> g_context_in_use{false};

// The slow path: gives `child` (not yet published) the context of the code running on this
// thread (the innermost task, or this thread's own outside tasks), if it has one.
void inherit_context(TaskHeader* child) noexcept;

[[gnu::always_inline]] inline void inherit_context_if_used(TaskHeader* child) noexcept {
    if (g_context_in_use.load(memory_order_relaxed)) [[unlikely]]
        inherit_context(child);
}

}  // namespace weft::detail
