// What a worker counts about itself, for weft::RuntimeMetrics (runtime_metrics.hpp): always on.
//
// Every field has one writer, its worker: a count goes up by a relaxed load and a relaxed
// store (no read-modify-write, no fence: on x86 the same instructions as a plain increment),
// and any thread may read it with a relaxed load (a snapshot's figures are each a moment's,
// exact for their own worker). The struct sits among the worker's own fields, on lines no
// other thread writes, so counting costs no cache-line transfer; a snapshot only reads.
//
// Costs per event: a poll or a LIFO hit, one increment; a park that sleeps, two clock reads
// (busy time is uptime minus the time spent asleep in the driver, as Tokio measures it); the
// poll-time histogram, two clock reads per poll, so it is off unless
// RuntimeOptions::metrics_poll_histogram asks for it.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstdint>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

// A count with a single writer.
struct OwnedCounter {
    Atomic<std::uint64_t> value{0};
    void add(std::uint64_t n = 1) noexcept { value.store(value.load(memory_order_relaxed) + n, memory_order_relaxed); }
    void set(std::uint64_t n) noexcept { value.store(n, memory_order_relaxed); }
    std::uint64_t read() const noexcept { return value.load(memory_order_relaxed); }
};

inline std::uint64_t metrics_clock_ns() noexcept {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
            .count());
}

// Poll durations in log2 buckets: bucket 0 holds polls under 1024 ns, bucket i (0 < i < last)
// those in [2^(9+i), 2^(10+i)) ns, the last everything from about 16.8 ms up.
struct PollTimeCounters {
    static constexpr unsigned kBuckets = 16;
    static constexpr unsigned bucket_of(std::uint64_t ns) noexcept {
        unsigned bucket = static_cast<unsigned>(std::bit_width(ns >> 10));
        return bucket < kBuckets ? bucket : kBuckets - 1;
    }
    void record(std::uint64_t ns) noexcept {
        buckets[bucket_of(ns)].add();
        sum_ns.add(ns);
    }
    std::array<OwnedCounter, kBuckets> buckets;
    OwnedCounter sum_ns;
};

struct WorkerMetricsCounters {
    // Per task run (next to the worker's hot fields, see worker.hpp).
    OwnedCounter polls;           // resumes
    OwnedCounter lifo_hits;       // tasks taken from the LIFO slot
    // Less often.
    OwnedCounter injected_taken;  // tasks taken from the injection queue
    OwnedCounter steal_attempts;  // victims looked at
    OwnedCounter steals;          // steal operations that found work
    OwnedCounter tasks_stolen;    // tasks those took
    OwnedCounter parks;           // times it ran out of work and parked
    OwnedCounter unparks;         // times it came back from a park in which it slept
    OwnedCounter timers_armed;    // timers put on its wheel
    OwnedCounter io_events;       // I/O readiness events its driver delivered
    // Busy time: started_ns - now minus the time asleep; asleep_since_ns is 0 while awake.
    OwnedCounter started_ns;
    OwnedCounter asleep_ns;
    OwnedCounter asleep_since_ns;
};

}  // namespace weft::detail
