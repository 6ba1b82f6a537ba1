// Abandoning tasks at shutdown: a task the stopped runtime cannot run any more is destroyed
// unfinished (RuntimeShutDown), with its joiner (runtime_core.cpp, shutdown protocol step 3).
#include <fmt/format.h>

#include <exception>
#include <string>
#include <vector>

#include <weft/detail/fork_join.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/detail/task_hooks.hpp>
#include <weft/detail/task_transitions.hpp>
#include <weft/error.hpp>

#include "done_callbacks.hpp"
#include "runtime_core.hpp"

namespace weft::detail {

void join_abandon_inlined(TaskHeader* target, TaskHeader* outer) noexcept {
    TaskHeader* host = target->inline_host.load(memory_order_relaxed);  // ours: no other writer
    target->inline_host.store(nullptr, memory_order_release);
    // (At shutdown frames go outermost first, while the host's frame is still being
    // destroyed: the host is still there.)
    if (host) host->inline_innermost = outer;
    target->exception = std::make_exception_ptr(RuntimeShutDown("the runtime shut down before the task finished"));
    target->result_taken = true;
    target->cancelled = true;
    hooks::finished(target);
    target->join_waiter.store(kJoinClosed, memory_order_release);  // the JoinHandle frees it
}

void name_straggler(const TaskHeader* task, std::vector<std::string>& stragglers) noexcept {
    try {
        std::string_view name = task->name_view();
        stragglers.push_back(name.empty() ? fmt::format("task {}", task->id())
                                          : fmt::format("task {} '{}'", task->id(), name));
    } catch (...) {
        // naming must not fail shutdown
    }
}

void abandon_task(TaskHeader* task, std::vector<std::string>* stragglers) noexcept {
    std::vector<TaskHeader*> pending{task};
    while (!pending.empty()) {
        TaskHeader* current = pending.back();
        pending.pop_back();
        if (stragglers) name_straggler(current, *stragglers);
        current->exception = std::make_exception_ptr(RuntimeShutDown("the runtime shut down before the task finished"));
        current->result_taken = true;  // not a failure of the task's own: don't log it
        current->cancelled = true;
        transition::abandoned(current);
        if (current->cancel_bits.fetch_or(task_state::kOutcomeDecided, memory_order_acq_rel) &
            task_state::kDoneCallbacks)
            run_done_callbacks(current);
        hooks::finished(current);
        std::uintptr_t observer = begin_close(current);
        if (observer == kDetached) {
            destroy_task(current);
            continue;
        }
        if (observer <= kLastJoinMarker) continue;
        if (observer & kListenerTag) {
            notify_joiner(current, observer);
        } else {
            // No worker runs any more, so the joiner is idle: take it over and abandon it too.
            auto* waiting = reinterpret_cast<TaskHeader*>(observer);
            if (transition::take_over_idle(waiting)) pending.push_back(waiting);
        }
        current->join_waiter.store(kJoinClosed, memory_order_release);
    }
}

}  // namespace weft::detail
