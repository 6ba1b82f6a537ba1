// Event: the flag is read without the guard on the fast path; set() and every waiter's
// "check, then link" happen under guard_, so a waiter either sees the flag set or is linked
// before set() walks the queue.
#include <weft/event.hpp>

namespace weft {

using namespace detail;

void Event::set() noexcept {
    SpinGuard locked(guard_);
    set_.store(true, memory_order_release);
    while (WaiterNode* node = waiters_.pop_front()) wake_waiter(node, kSet);
}

bool Event::enqueue_unless_set(WaiterNode& node) noexcept {
    SpinGuard locked(guard_);
    if (set_.load(memory_order_relaxed)) {
        complete_now(node, kSet);
        return false;
    }
    enqueue(waiters_, node);
    return true;
}

}  // namespace weft
