// ContextVar's storage (context_var.hpp): where the current context lives, and its copy into
// a spawned task (context_inherit.hpp).
//
// A task's context lives in its TaskExtras and is touched only by code running as that task
// (its own thread at the time), and by its spawner before the task is published (the queue's
// publication orders that write before the task's first resume). A child run inline inside its
// joiner is its own innermost task there (innermost_task), so it uses its own context.
// Outside tasks (plain threads, the blocking pool and compute threads) a thread_local holds it.
#include <weft/context_var.hpp>

#include <algorithm>

#include <weft/detail/context.hpp>
#include <weft/detail/task_header.hpp>

namespace weft::detail {

namespace {

thread_local ContextPtr tls_thread_context;
// Context::run or a bridged call in progress on this thread: its identity (odd: never a task's
// address); 0: none.
thread_local std::uintptr_t tls_scope_owner = 0;

std::uintptr_t fresh_owner() noexcept {
    static Atomic<std::uintptr_t> next{1};
    return next.fetch_add(2, memory_order_relaxed);
}

TaskHeader* running_task() noexcept {
    TaskHeader* task = tls_context.task;
    return task ? innermost_task(task) : nullptr;
}

}  // namespace

const void* ContextMap::find(std::uint64_t key) const noexcept {
    const std::shared_ptr<const void>* entry = find_entry(key);
    return entry ? entry->get() : nullptr;
}

const std::shared_ptr<const void>* ContextMap::find_entry(std::uint64_t key) const noexcept {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                               [](const Entry& entry, std::uint64_t k) { return entry.key < k; });
    return it != entries_.end() && it->key == key ? &it->value : nullptr;
}

ContextPtr ContextMap::with(const ContextMap* base, std::uint64_t key, std::shared_ptr<const void> value) {
    auto fresh = std::make_shared<ContextMap>();
    if (base) fresh->entries_.reserve(base->entries_.size() + 1);
    bool placed = false;
    if (base) {
        for (const Entry& entry : base->entries_) {
            if (!placed && entry.key >= key) {
                placed = true;
                if (value) fresh->entries_.push_back(Entry{key, value});
                if (entry.key == key) continue;
            }
            fresh->entries_.push_back(entry);
        }
    }
    if (!placed && value) fresh->entries_.push_back(Entry{key, std::move(value)});
    if (fresh->entries_.empty()) return nullptr;
    return fresh;
}

ContextPtr current_context() noexcept {
    if (TaskHeader* task = running_task()) {
        TaskExtras* extras = task->extras_if_any();
        return extras ? extras->context : nullptr;
    }
    return tls_thread_context;
}

const ContextMap* current_context_map() noexcept {
    if (TaskHeader* task = running_task()) {
        TaskExtras* extras = task->extras_if_any();
        return extras ? extras->context.get() : nullptr;
    }
    return tls_thread_context.get();
}

void replace_current_context(ContextPtr context) {
    if (context) g_spawn_extras.store(true, memory_order_relaxed);
    if (TaskHeader* task = running_task()) {
        if (!context && !task->extras_if_any()) return;
        task->extras().context = std::move(context);
    } else {
        tls_thread_context = std::move(context);
    }
}

std::uint64_t next_context_var_id() noexcept {
    static Atomic<std::uint64_t> next{1};
    return next.fetch_add(1, memory_order_relaxed);
}

void inherit_context(TaskHeader* child) noexcept {
    ContextPtr context = current_context();
    if (context) child->extras().context = std::move(context);
}

std::uintptr_t current_context_owner() noexcept {
    if (tls_scope_owner != 0) return tls_scope_owner;
    if (TaskHeader* task = running_task()) return reinterpret_cast<std::uintptr_t>(task);
    thread_local const std::uintptr_t thread_owner = fresh_owner();
    return thread_owner;
}

ContextOwnerScope::ContextOwnerScope() noexcept : saved_(std::exchange(tls_scope_owner, fresh_owner())) {}

ContextOwnerScope::ContextOwnerScope(std::uintptr_t owner) noexcept : saved_(std::exchange(tls_scope_owner, owner)) {}

ContextOwnerScope::~ContextOwnerScope() { tls_scope_owner = saved_; }

ThreadContextScope::ThreadContextScope(ContextPtr context) noexcept
    : saved_(std::exchange(tls_thread_context, std::move(context))) {}

ThreadContextScope::~ThreadContextScope() { tls_thread_context = std::move(saved_); }

}  // namespace weft::detail
