// weft::ext's observability seam (ext/task_hooks.hpp): installing hooks, reading counters.
#include <weft/detail/task_hooks.hpp>

#include <weft/detail/task_header.hpp>
#include <weft/error.hpp>
#include <weft/runtime.hpp>

#include "runtime_core.hpp"
#include "worker.hpp"

namespace weft::ext {

std::uint64_t TaskRef::id() const noexcept { return task_->id(); }

std::string_view TaskRef::name() const noexcept { return task_->name_view(); }

void set_task_hooks(const TaskHooks* hooks) {
    if constexpr (!kHooksCompiledIn) {
        if (hooks)
            throw UsageError("weft::ext::set_task_hooks: weft was built without WEFT_HOOKS (cmake -DWEFT_HOOKS=ON)");
    }
    detail::g_task_hooks.store(hooks, detail::memory_order_release);
}

std::vector<WorkerCounters> worker_counters(Runtime& runtime) {
    detail::RuntimeCore& core = runtime.core();
    std::vector<WorkerCounters> all(core.worker_count());
    for (unsigned i = 0; i < core.worker_count(); ++i) {
        const detail::WorkerMetricsCounters& counters = core.worker(i).metrics();
        all[i] = WorkerCounters{
            .resumes = counters.polls.read(),
            .steals = counters.steals.read(),
            .parks = counters.parks.read(),
            .injected_taken = counters.injected_taken.read(),
        };
    }
    return all;
}

}  // namespace weft::ext
