// weft::Runtime and weft::current_task(): the public face of RuntimeCore.
#include <weft/current_task.hpp>
#include <weft/runtime.hpp>

#include "runtime_core.hpp"

namespace weft {

TaskInfo current_task() {
    detail::TaskHeader* task = detail::innermost_task(detail::current_task_or_throw("weft::current_task()"));
    return TaskInfo{task->id(), task->name_view()};
}

Runtime::Runtime(RuntimeOptions options) : core_(std::make_unique<detail::RuntimeCore>(std::move(options))) {
    core_->start();
}

Runtime::~Runtime() { core_->shutdown(); }

unsigned Runtime::worker_count() const noexcept { return core_->worker_count(); }

void Runtime::shutdown() { core_->shutdown(); }

}  // namespace weft
