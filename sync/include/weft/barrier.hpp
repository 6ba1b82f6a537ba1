// weft::Barrier (asyncio.Barrier, Python 3.11): `parties` tasks wait until all have arrived.
//
//   weft::Barrier round(3);
//   weft::Task<> player(int id) {
//       std::size_t index = co_await round.wait();   // 0, 1, 2 in arrival order
//       if (index == 0) log("everyone is here");     // exactly one task of the round
//   }
//
// The party that completes a round resumes at once; the others resume on worker loops (never
// inside the last arrival's wait()). The barrier is then ready for the next round right away
// (asyncio drains first; the difference is not observable through this API).
// abort() breaks the barrier: pending and future wait()s throw BrokenBarrierError until
// reset(). reset() makes pending wait()s throw BrokenBarrierError and starts a fresh round.
// A task cancelled while waiting leaves the round (n_waiting() drops) without breaking it.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>
#include <weft/error.hpp>

namespace weft {

/// A Barrier wait failed because the barrier was aborted or reset.
class BrokenBarrierError : public Error {
public:
    using Error::Error;
};

class Barrier {
public:
    class Awaiter;

    /// `parties` >= 1 (UsageError otherwise).
    explicit Barrier(std::size_t parties);
    Barrier(const Barrier&) = delete;
    Barrier& operator=(const Barrier&) = delete;

    /// co_await it: waits for the round to fill; yields this task's arrival index.
    Awaiter wait() noexcept WEFT_LIFETIMEBOUND;
    /// Wakes every waiting task with BrokenBarrierError and starts an empty round; also
    /// repairs a broken barrier.
    void reset() noexcept;
    /// Breaks the barrier: waiting and future wait()s throw BrokenBarrierError until reset().
    void abort() noexcept;

    std::size_t parties() const noexcept { return parties_; }
    /// Tasks waiting in the current round.
    std::size_t n_waiting() const noexcept;
    bool broken() const noexcept;

private:
    friend struct detail::SyncAccess;
    enum Outcome : std::uint8_t { kPassed = 1, kAborted, kReset };
    struct Node : detail::WaiterNode {
        std::size_t index = 0;  // arrival index in its round
    };

    bool arrive(Node& node) noexcept;  // true: queued
    void leave(detail::WaiterNode& node) noexcept;   // a cancelled waiter, under guard_
    void wake_all_locked(std::uint8_t outcome) noexcept;
    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }

    std::size_t parties_;
    std::size_t count_ = 0;  // arrivals in the current round
    bool broken_ = false;
    mutable detail::SpinLock guard_;
    detail::WaiterQueue waiters_{guard_};
};

/// `co_await barrier.wait()`; single use.
class [[nodiscard("co_await it")]] Barrier::Awaiter : private Barrier::Node {
public:
    explicit Awaiter(Barrier& barrier WEFT_LIFETIMEBOUND) noexcept : barrier_(barrier) {}

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        return detail::suspend_waiter(
            *this, "weft::Barrier::wait()", awaiting, [this] { return barrier_.arrive(*this); }, &barrier_);
    }
    std::size_t await_resume();

private:
    Barrier& barrier_;
};

inline Barrier::Awaiter Barrier::wait() noexcept WEFT_LIFETIMEBOUND { return Awaiter(*this); }

}  // namespace weft
