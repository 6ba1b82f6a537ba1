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

// A per-worker counter, written by its worker only (relaxed load + store: no RMW on the hot
// path), read by anyone. Nothing at all without WEFT_HOOKS.
#if WEFT_HOOKS
struct WorkerCounter {
    Atomic<std::uint64_t> value{0};
    void add(std::uint64_t n = 1) noexcept { value.store(value.load(memory_order_relaxed) + n, memory_order_relaxed); }
    std::uint64_t read() const noexcept { return value.load(memory_order_relaxed); }
};
#else
struct WorkerCounter {
    void add(std::uint64_t = 1) noexcept {}
    std::uint64_t read() const noexcept { return 0; }
};
#endif

struct WorkerCounterSet {
    [[no_unique_address]] WorkerCounter resumes;
    [[no_unique_address]] WorkerCounter steals;
    [[no_unique_address]] WorkerCounter parks;
    [[no_unique_address]] WorkerCounter injected_taken;
};

}  // namespace weft::detail
