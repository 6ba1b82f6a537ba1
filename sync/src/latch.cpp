// Latch: the count is an atomic (count_down() without waiters takes no lock). The decrement
// that reaches zero then takes guard_ and wakes the queue; a waiter checks the count under
// guard_ before linking, so it either sees zero or is linked before that wake-all runs.
#include <weft/latch.hpp>

#include <weft/error.hpp>

namespace weft {

using namespace detail;

void Latch::count_down(std::size_t n) {
    std::size_t count = count_.load(memory_order_relaxed);
    do {
        if (n > count) throw UsageError("weft::Latch::count_down(): the count would go below zero");
    } while (!count_.compare_exchange_weak(count, count - n, memory_order_acq_rel, memory_order_relaxed));
    if (count != n || n == 0) return;  // not the decrement that reached zero
    SpinGuard locked(guard_);
    while (WaiterNode* node = waiters_.pop_front()) wake_waiter(node, kOpen);
}

bool Latch::enqueue_unless_open(WaiterNode& node) noexcept {
    SpinGuard locked(guard_);
    if (count_.load(memory_order_acquire) == 0) {
        complete_now(node, kOpen);
        return false;
    }
    enqueue(waiters_, node);
    return true;
}

}  // namespace weft
