#include <weft/detail/waiter_queue.hpp>

#include <weft/error.hpp>

namespace weft::detail {

void throw_cancelled() {
    TaskHeader* self = current_task_or_throw("a weft::sync wait");
    throw_if_cancelled(self);
    throw Error("weft internal error: a sync wait resumed with neither its source nor a cancellation");
}

}  // namespace weft::detail
