// weft::BackpressureQueue: a FIFO queue with flow control by watermarks. Producers may put
// until the queue holds `high` items; then put() waits, and keeps waiting until consumers
// have drained it down to `low`. The hysteresis turns a steady trickle of one-item stalls into
// a few long pauses, which is kinder to producers that batch or hold resources.
//
//   weft::BackpressureQueue<Frame> frames(/*high=*/256, /*low=*/64);
//   co_await frames.put(decode());              // producer: pauses at 256, resumes at 64
//   Frame f = co_await frames.get();            // consumer
//   auto s = frames.stats();                    // s.pauses, s.resumes, s.putter_waits, s.max_depth
//   frames.shutdown();                          // same semantics as Queue::shutdown
//
// Everything else is Queue's (<weft/queue.hpp>): FIFO, hand-off to waiting getters,
// task_done()/join(), shutdown(immediate), cancellation that never loses an item, waiters
// resuming on worker loops. Paused producers are admitted oldest first, each with its item.
#pragma once

#include <cstddef>
#include <cstdint>

#include <weft/detail/basic_queue.hpp>
#include <weft/detail/queue_storage.hpp>
#include <weft/error.hpp>

namespace weft {

/// Flow-control counters of a BackpressureQueue.
struct BackpressureStats {
    std::uint64_t pauses = 0;        // times the queue reached the high mark and closed
    std::uint64_t resumes = 0;       // times it drained to the low mark and reopened
    std::uint64_t putter_waits = 0;  // put()s that had to wait
    std::size_t max_depth = 0;       // most items ever stored at once
};

namespace detail {

class BackpressureGate {
public:
    BackpressureGate(std::size_t high, std::size_t low) : high_(high), low_(low) {
        if (high == 0 || low >= high) throw UsageError("weft::BackpressureQueue: need 0 <= low < high (and high >= 1)");
    }
    bool admits(std::size_t /*size*/) const noexcept { return !paused_; }
    void pushed(std::size_t size) noexcept {
        if (size > stats_.max_depth) stats_.max_depth = size;
        if (size >= high_ && !paused_) {
            paused_ = true;
            ++stats_.pauses;
        }
    }
    void popped(std::size_t size) noexcept {
        if (paused_ && size <= low_) {
            paused_ = false;
            ++stats_.resumes;
        }
    }
    void putter_waits() noexcept { ++stats_.putter_waits; }

    bool paused() const noexcept { return paused_; }
    std::size_t high() const noexcept { return high_; }
    std::size_t low() const noexcept { return low_; }
    BackpressureStats stats() const noexcept { return stats_; }

private:
    std::size_t high_;
    std::size_t low_;
    bool paused_ = false;
    BackpressureStats stats_;
};

}  // namespace detail

template <class T>
class BackpressureQueue
    : public detail::BasicQueue<T, detail::LockedStorage<T, detail::RingContainer<T>>, detail::BackpressureGate> {
    using Base = detail::BasicQueue<T, detail::LockedStorage<T, detail::RingContainer<T>>, detail::BackpressureGate>;

public:
    /// Producers pause when `high` items are stored and resume at `low` (0 <= low < high).
    BackpressureQueue(std::size_t high, std::size_t low) : Base(detail::BackpressureGate(high, low), 0) {}

    /// Whether put() waits right now (between reaching high and draining to low).
    bool paused() const noexcept {
        return this->with_gate([](const detail::BackpressureGate& gate) { return gate.paused(); });
    }
    BackpressureStats stats() const noexcept {
        return this->with_gate([](const detail::BackpressureGate& gate) { return gate.stats(); });
    }
    std::size_t high() const noexcept {
        return this->with_gate([](const detail::BackpressureGate& gate) { return gate.high(); });
    }
    std::size_t low() const noexcept {
        return this->with_gate([](const detail::BackpressureGate& gate) { return gate.low(); });
    }
    /// The most items it ever holds: high (Queue's maxsize() of 0 would mean unbounded).
    std::size_t maxsize() const noexcept { return high(); }
};

}  // namespace weft
