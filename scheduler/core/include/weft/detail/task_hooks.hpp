// The scheduler's side of weft::ext::TaskHooks (ext/task_hooks.hpp): the call sites. Each is
// `if constexpr` on WEFT_HOOKS, so a build without hooks compiles them to nothing.
#pragma once

#include <source_location>
#include <string_view>

#include <weft/detail/atomic.hpp>
#include <weft/ext/task_hooks.hpp>

namespace weft::detail {

class TaskHeader;

inline Atomic<const ext::TaskHooks*> g_task_hooks{nullptr};

namespace hooks {

inline void spawned([[maybe_unused]] TaskHeader* task, [[maybe_unused]] std::string_view name,
                    [[maybe_unused]] const std::source_location& where) noexcept {
    if constexpr (ext::kHooksCompiledIn) {
        const ext::TaskHooks* installed = g_task_hooks.load(memory_order_acquire);
        if (installed && installed->spawned) installed->spawned(ext::TaskRef(task), name, where);
    }
}

inline void resumed([[maybe_unused]] TaskHeader* task, [[maybe_unused]] unsigned worker) noexcept {
    if constexpr (ext::kHooksCompiledIn) {
        const ext::TaskHooks* installed = g_task_hooks.load(memory_order_acquire);
        if (installed && installed->resumed) installed->resumed(ext::TaskRef(task), worker);
    }
}

inline void suspended([[maybe_unused]] TaskHeader* task, [[maybe_unused]] unsigned worker) noexcept {
    if constexpr (ext::kHooksCompiledIn) {
        const ext::TaskHooks* installed = g_task_hooks.load(memory_order_acquire);
        if (installed && installed->suspended) installed->suspended(ext::TaskRef(task), worker);
    }
}

inline void finished([[maybe_unused]] TaskHeader* task) noexcept {
    if constexpr (ext::kHooksCompiledIn) {
        const ext::TaskHooks* installed = g_task_hooks.load(memory_order_acquire);
        if (installed && installed->finished) installed->finished(ext::TaskRef(task));
    }
}

}  // namespace hooks

}  // namespace weft::detail
