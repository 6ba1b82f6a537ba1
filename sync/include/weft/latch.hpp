// weft::Latch (std::latch for tasks): a single-use countdown that tasks can wait on.
//
//   weft::Latch loaded(3);
//   for (auto& shard : shards) weft::spawn(load(shard, loaded)).detach();  // each: loaded.count_down()
//   co_await loaded.wait();                 // resumes once all three have counted down
//
//   co_await latch.arrive_and_wait();       // count_down() then wait(), in one call
//
// When the count reaches zero every waiting task resumes on a worker loop (never inside
// count_down()); wait() on an open latch does not suspend. The count never goes back up.
// count_down() may be called from any thread; counting below zero throws UsageError.
// Waiting is a cancellation point.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include <weft/detail/atomic.hpp>
#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>

namespace weft {

class Latch {
public:
    class Awaiter;

    explicit Latch(std::size_t count) noexcept : count_(count) {}
    Latch(const Latch&) = delete;
    Latch& operator=(const Latch&) = delete;

    /// Decrements the count by `n`; opens the latch when it reaches zero.
    void count_down(std::size_t n = 1);
    /// Whether the count has reached zero.
    bool try_wait() const noexcept { return count_.load(detail::memory_order_acquire) == 0; }
    std::size_t count() const noexcept { return count_.load(detail::memory_order_relaxed); }
    /// co_await it: returns once the count is zero.
    Awaiter wait() noexcept WEFT_LIFETIMEBOUND;
    /// count_down(n), then wait().
    Awaiter arrive_and_wait(std::size_t n = 1) WEFT_LIFETIMEBOUND;

private:
    friend struct detail::SyncAccess;
    enum Outcome : std::uint8_t { kOpen = 1 };

    bool enqueue_unless_open(detail::WaiterNode& node) noexcept;
    void unlink(detail::WaiterNode& node) noexcept { waiters_.remove(&node); }
    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }

    detail::Atomic<std::size_t> count_;
    mutable detail::SpinLock guard_;
    detail::WaiterQueue waiters_{guard_};
};

/// `co_await latch.wait()`; single use.
class [[nodiscard("co_await it")]] Latch::Awaiter : private detail::WaiterNode {
public:
    explicit Awaiter(Latch& latch WEFT_LIFETIMEBOUND) noexcept : latch_(latch) {}

    bool await_ready() noexcept {
        if (!latch_.try_wait()) return false;
        detail::complete_now(*this, kOpen);
        return true;
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        return detail::suspend_waiter(
            *this, "weft::Latch::wait()", awaiting, [this] { return latch_.enqueue_unless_open(*this); }, &latch_);
    }
    void await_resume() {
        // Opened, but cancelled before it ran: ends cancelled (nothing to give back).
        if (!detail::settle_wait(*this, latch_.guard_, [this] { latch_.unlink(*this); }, [] {}))
            detail::throw_cancelled();
    }

private:
    Latch& latch_;
};

inline Latch::Awaiter Latch::wait() noexcept WEFT_LIFETIMEBOUND { return Awaiter(*this); }

inline Latch::Awaiter Latch::arrive_and_wait(std::size_t n) WEFT_LIFETIMEBOUND {
    count_down(n);
    return Awaiter(*this);
}

}  // namespace weft
