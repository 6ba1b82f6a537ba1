// The completer's side of done callbacks (done_callbacks.cpp has the protocol).
#pragma once

#include <weft/detail/task_header.hpp>

namespace weft::detail {

// The task's outcome is written and its completer's RMW on cancel_bits returned
// kDoneCallbacks: calls the callbacks added so far, before the join word is closed.
void run_done_callbacks(TaskHeader* task) noexcept;

}  // namespace weft::detail
