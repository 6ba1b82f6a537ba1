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
#include <thread>

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
    // The two asleep fields change together (a sleep begins; a sleep ends and is added), so
    // they sit behind a seqlock: odd while the worker writes them. A reader that took them
    // between the two stores missed or doubled a sleep, and busy time, a Prometheus counter,
    // went down at the next snapshot. Once per park, which makes a system call anyway.
    OwnedCounter asleep_seq;

    // The worker, around its writes of the asleep fields.
    void begin_asleep_update() noexcept {
        asleep_seq.set(asleep_seq.read() + 1);
        std::atomic_thread_fence(memory_order_release);  // the odd count before the fields
    }
    void end_asleep_update() noexcept { asleep_seq.value.store(asleep_seq.read() + 1, memory_order_release); }

    // Any thread: the asleep fields of one moment (retries while the worker writes them), and
    // the clock read after them (a time taken before could be older than a wake-up they
    // already count).
    struct Asleep {
        std::uint64_t total_ns;
        std::uint64_t since_ns;
        std::uint64_t now_ns;
    };
    Asleep read_asleep() const noexcept {
        for (unsigned tries = 1;; ++tries) {
            const std::uint64_t before = asleep_seq.value.load(memory_order_acquire);
            Asleep out{asleep_ns.read(), asleep_since_ns.read(), 0};
            std::atomic_thread_fence(memory_order_acquire);  // the fields before the second look
            out.now_ns = metrics_clock_ns();
            if (!(before & 1) && asleep_seq.read() == before) return out;
            if (tries % 64 == 0) std::this_thread::yield();  // the worker was preempted inside
        }
    }

    // The busy time last reported (snapshots only, on a line of its own: the worker never
    // touches it). Clock reads on two cores can still disagree by a little; a snapshot reports
    // at least what an earlier one did, so the counter never goes down.
    alignas(kCacheLine) mutable Atomic<std::uint64_t> busy_reported_ns{0};
    std::uint64_t report_busy(std::uint64_t busy_ns) const noexcept {
        std::uint64_t last = busy_reported_ns.load(memory_order_relaxed);
        while (busy_ns > last && !busy_reported_ns.compare_exchange_weak(last, busy_ns, memory_order_relaxed)) {
        }
        return busy_ns > last ? busy_ns : last;
    }
};

}  // namespace weft::detail
