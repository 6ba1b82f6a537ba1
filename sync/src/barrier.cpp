// Barrier: everything happens under guard_ (a barrier wait is never a hot path). The last
// arrival of a round wakes the others with kPassed and resets the count in the same critical
// section, so a task arriving right after belongs to the next round.
#include <weft/barrier.hpp>

namespace weft {

using namespace detail;

Barrier::Barrier(std::size_t parties) : parties_(parties) {
    if (parties == 0) throw UsageError("weft::Barrier: parties must be at least 1");
}

std::size_t Barrier::n_waiting() const noexcept {
    SpinGuard locked(guard_);
    return waiters_.size();
}

bool Barrier::broken() const noexcept {
    SpinGuard locked(guard_);
    return broken_;
}

void Barrier::wake_all_locked(std::uint8_t outcome) noexcept {
    while (WaiterNode* node = waiters_.pop_front()) wake_waiter(node, outcome);
    count_ = 0;
}

bool Barrier::arrive(Node& node) noexcept {
    SpinGuard locked(guard_);
    if (broken_) {
        complete_now(node, kAborted);
        return false;
    }
    node.index = count_++;
    if (count_ == parties_) {
        wake_all_locked(kPassed);
        complete_now(node, kPassed);
        return false;
    }
    enqueue(waiters_, node);
    return true;
}

void Barrier::leave(WaiterNode& node) noexcept {
    waiters_.remove(&node);
    --count_;
}

void Barrier::reset() noexcept {
    SpinGuard locked(guard_);
    wake_all_locked(kReset);
    broken_ = false;
}

void Barrier::abort() noexcept {
    SpinGuard locked(guard_);
    broken_ = true;
    wake_all_locked(kAborted);
}

std::size_t Barrier::Awaiter::await_resume() {
    // Passed (or broken), but cancelled before it ran: the wait ends cancelled (asyncio's
    // `_must_cancel`); the round stays passed for the others, so there is nothing to give back.
    if (!settle_wait(*this, barrier_.guard_, [this] { barrier_.leave(*this); }, [] {})) throw_cancelled();
    switch (outcome) {
        case kPassed:
            return index;
        case kReset:
            throw BrokenBarrierError("weft::Barrier: the barrier was reset while this task waited");
        default:
            throw BrokenBarrierError("weft::Barrier: the barrier is broken (aborted)");
    }
}

}  // namespace weft
