// all_tasks() (all_tasks.hpp), and spawn's slow path for the extras (context_inherit.hpp).
#include <weft/all_tasks.hpp>

#include <weft/context_var.hpp>
#include <weft/current_task.hpp>
#include <weft/detail/context.hpp>
#include <weft/detail/context_inherit.hpp>
#include <weft/error.hpp>
#include <weft/runtime.hpp>

#include "runtime_core.hpp"
#include "task_registry.hpp"

namespace weft {

namespace detail {

void unregister_task(TaskRegistry& registry, std::uint64_t id, TaskTrace* trace) noexcept { registry.erase(id, trace); }

void spawn_extras(TaskHeader* child, RuntimeCore* runtime, const std::source_location& where) noexcept {
    inherit_context(child);
    if (const std::shared_ptr<TaskRegistry>& registry = runtime->task_registry()) [[unlikely]] {
        TaskExtras& extras = child->extras();
        std::uint64_t id = child->id();
        // The spawner: the code running on this thread (a child inlined in its joiner spawns as
        // itself). Its id was given out when it was listed (0: a plain thread).
        TaskHeader* spawner = tls_task();
        std::uint64_t parent = spawner ? innermost_task(spawner)->id() : 0;
        try {
            extras.trace = registry->insert(id, child, where, parent);
            extras.registry = registry;
        } catch (...) {  // out of memory: the task runs unlisted rather than not at all
        }
    }
}

namespace {

bool finished(const TaskHeader* task) noexcept {
    std::uintptr_t value = task->join_waiter.load(memory_order_acquire);
    return value == kJoinClosed || value == kJoinClosing;
}

std::vector<TaskSnapshot> snapshot(RuntimeCore& runtime) {
    const std::shared_ptr<TaskRegistry>& registry = runtime.task_registry();
    if (!registry)
        throw UsageError("weft::all_tasks(): runtime '" + runtime.options().name +
                         "' does not track its tasks (build it with RuntimeOptions{.track_tasks = true})");
    std::vector<TaskSnapshot> out;
    registry->for_each_entry([&](std::uint64_t id, const TaskRegistry::Entry& entry) {
        if (finished(entry.task)) return;
        out.emplace_back(registry, id, std::string(entry.task->name_view()), TaskRef(entry.task).cancelling(), &entry);
    });
    return out;
}

}  // namespace

}  // namespace detail

bool TaskSnapshot::cancel() const {
    return registry_->with(entry_, id_, [](detail::TaskHeader* task) { return task && TaskRef(task).cancel(); });
}

bool TaskSnapshot::cancel(std::string_view message) const {
    return registry_->with(entry_, id_,
                           [message](detail::TaskHeader* task) { return task && TaskRef(task).cancel(message); });
}

bool TaskSnapshot::done() const {
    return registry_->with(entry_, id_, [](detail::TaskHeader* task) { return !task || detail::finished(task); });
}

std::vector<TaskSnapshot> all_tasks() {
    detail::TaskHeader* task = detail::current_task_or_throw("weft::all_tasks()");
    return detail::snapshot(*task->runtime);
}

std::vector<TaskSnapshot> all_tasks(Runtime& runtime) { return detail::snapshot(runtime.core()); }

}  // namespace weft
