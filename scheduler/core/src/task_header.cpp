// TaskHeader's own members: ids and names (allocated on first use), and the running task.
#include <weft/detail/task_header.hpp>

#include <string>

#include <weft/detail/context.hpp>
#include <weft/error.hpp>

#include "task_registry.hpp"

namespace weft::detail {

namespace {

// Task ids come from a global counter in blocks, so spawning does not contend on it.
std::uint64_t next_task_id() noexcept {
    static Atomic<std::uint64_t> next_block{1};
    constexpr std::uint64_t kBlock = 1024;
    thread_local std::uint64_t next = 0;
    thread_local std::uint64_t limit = 0;
    if (next == limit) {
        next = next_block.fetch_add(kBlock, memory_order_relaxed);
        limit = next + kBlock;
    }
    return next++;
}

}  // namespace

TaskExtras& TaskHeader::extras() const noexcept {
    TaskExtras* extras = extras_.load(memory_order_acquire);
    if (extras) return *extras;
    auto* fresh = new TaskExtras();  // (out of memory here terminates: id() is noexcept)
    if (extras_.compare_exchange_strong(extras, fresh, memory_order_acq_rel, memory_order_acquire)) return *fresh;
    delete fresh;  // another thread asked at the same moment and installed its own first
    return *extras;
}

void TaskHeader::set_name(std::string_view name) {
    TaskExtras& extras = this->extras();
    if (extras.registry) [[unlikely]] {  // listed already: all_tasks() may be reading it
        extras.registry->locked(extras.id.load(memory_order_relaxed), [&] { extras.name = name; });
    } else {
        extras.name = name;
    }
}

std::uint64_t TaskHeader::id() const noexcept {
    TaskExtras& extras = this->extras();
    std::uint64_t value = extras.id.load(memory_order_acquire);
    if (value != 0) return value;
    std::uint64_t fresh = next_task_id();
    if (extras.id.compare_exchange_strong(value, fresh, memory_order_acq_rel, memory_order_acquire)) return fresh;
    return value;  // another thread asked at the same moment and named it first
}

TaskHeader* current_task_or_throw(const char* what) {
    TaskHeader* task = tls_context.task;
    if (!task) throw UsageError(std::string(what) + " used outside a weft task");
    return task;
}

TaskHeader* tls_task() noexcept { return tls_context.task; }

}  // namespace weft::detail
