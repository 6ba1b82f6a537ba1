// How many of a runtime's workers are idle, and in which way (runtime_core.hpp and
// worker.cpp read and write them).
#pragma once

#include <cstdint>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

// Counts of searching and parked workers. Protocol that prevents lost wake-ups:
//  1. A producer makes work visible with a seq_cst store/RMW (queue push, injected_
//     increment), then reads the counts with seq_cst loads: if a worker is searching it will find the work; else it wakes a sleeper.
//  2. A worker going to sleep increments `sleeping` (seq_cst RMW), leaves `searching`,
//     then re-checks every queue before it blocks; work found means it un-parks itself.
// Either the producer sees the sleeper or the sleeper sees the work.
struct IdleCounts {
    alignas(kCacheLine) Atomic<std::uint32_t> searching{0};
    Atomic<std::uint32_t> sleeping{0};
    // Workers that have neither found work nor started searching yet (threads starting),
    // plus one once the runtime is stopping: idle for any(), not for the wake-up protocol.
    Atomic<std::uint32_t> starting{0};

    // Some worker is searching, parked or still starting: a push should publish.
    bool any() const noexcept {
        return (searching.load(memory_order_relaxed) | sleeping.load(memory_order_relaxed) |
                starting.load(memory_order_relaxed)) != 0;
    }
};

}  // namespace weft::detail
