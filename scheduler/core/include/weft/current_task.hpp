// weft::current_task(): who am I? The id and name of the task running this code.
//
//   spdlog::info("task {} ({}) starting", weft::current_task().id, weft::current_task().name);
//
// Throws UsageError outside a weft task.
#pragma once

#include <cstdint>
#include <string_view>

namespace weft {

struct TaskInfo {
    std::uint64_t id;       // unique, never 0; given out when first asked for (not in spawn order)
    std::string_view name;  // empty for unnamed tasks; valid while the task runs
};

TaskInfo current_task();

}  // namespace weft
