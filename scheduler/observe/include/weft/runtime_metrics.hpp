// weft::RuntimeMetrics: what a runtime's workers, blocking pool and compute arena have done,
// as a plain struct (Tokio's RuntimeMetrics, as one snapshot).
//
//   weft::Runtime rt({.workers = 4, .metrics_poll_histogram = true});
//   ...
//   weft::RuntimeMetrics m = rt.metrics();            // from any thread
//   for (const weft::WorkerMetrics& w : m.workers)
//       spdlog::info("worker {}: {} polls, {} stolen, {:.0f}% busy", w.index, w.polls,
//                    w.tasks_stolen, 100.0 * w.busy_ratio());
//   auto text = weft::metrics::prometheus_text(m);    // prometheus_text.hpp
//   // inside a task: weft::runtime_metrics() is its runtime's snapshot
//
// Always on, in every build: each worker counts into fields that only it writes (relaxed
// stores, nothing shared between workers, no lock), so counting costs about one instruction
// per event; the snapshot reads them. Counters only go up (compare two snapshots for rates:
// tools/weft-top does); gauges (queue depths, timers pending, registrations, threads) are the
// moment's. Each figure is exact for its own worker, but the snapshot is not atomic across
// workers: read while the runtime runs, it is a moment's picture.
//
// Where weft differs from Tokio: the poll-time histogram needs two clock reads per poll (a
// fine-grained task costs about as much as the two reads), so it is off unless
// RuntimeOptions::metrics_poll_histogram turns it on (Tokio: enable_metrics_poll_time_histogram);
// its buckets are powers of two of nanoseconds (Tokio's log histogram, coarser). A child task
// that an awaiting task ran inline (fork-join, fork_join.hpp) is part of that task's poll.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace weft {

/// Poll durations of one worker in log2 buckets: buckets[0] counts polls shorter than
/// upper_bound_ns(0) = 1024 ns, buckets[i] those at least upper_bound_ns(i - 1) and shorter than
/// upper_bound_ns(i) = 2^(10+i) ns; the last is unbounded (from about 16.8 ms up).
///
///   const weft::PollTimeHistogram& h = rt.metrics().workers[0].poll_time;
///   for (unsigned i = 0; i < h.kBuckets; ++i) print(h.upper_bound_ns(i), h.buckets[i]);
struct PollTimeHistogram {
    static constexpr unsigned kBuckets = 16;
    static constexpr std::uint64_t upper_bound_ns(unsigned bucket) noexcept {
        return bucket + 1 < kBuckets ? std::uint64_t{1024} << bucket : UINT64_MAX;
    }
    std::array<std::uint64_t, kBuckets> buckets{};  // each bucket's own count (not cumulative)
    std::uint64_t count = 0;                        // polls timed (the buckets' sum)
    std::uint64_t sum_ns = 0;                       // their total duration
};

/// One worker's figures (see RuntimeMetrics).
struct WorkerMetrics {
    unsigned index = 0;
    // Counters (since the runtime started).
    std::uint64_t polls = 0;           // task resumes
    std::uint64_t lifo_hits = 0;       // tasks taken from the LIFO slot (woken by this worker)
    std::uint64_t injected_taken = 0;  // tasks taken from the injection queue (spawned elsewhere)
    std::uint64_t steal_attempts = 0;  // other workers' queues looked into
    std::uint64_t steals = 0;          // of those, the ones that found work
    std::uint64_t tasks_stolen = 0;    // tasks they took (half the victim's queue each time)
    std::uint64_t parks = 0;           // times it ran out of work and parked
    std::uint64_t unparks = 0;         // times it was woken from a park (a park cut short by its
                                       // last look for work is not one)
    std::uint64_t timers_armed = 0;    // timers put on its wheel (sleep, timeout, call_later...)
    std::uint64_t io_events = 0;       // I/O readiness events its driver delivered
    std::chrono::nanoseconds busy{0};  // time not asleep in park (running, searching)
    std::chrono::nanoseconds uptime{0};  // since its thread started
    // Gauges (now).
    std::uint64_t local_queue_depth = 0;  // tasks in its run queue (LIFO slot and yielded round
                                          // not counted)
    std::uint64_t timers = 0;             // timers pending on its wheel
    std::uint64_t io_registrations = 0;   // sockets and pipes registered with its driver
    bool asleep = false;                  // asleep in a park right now (parks - unparks does not
                                          // say: a park cut short counts in parks only)
    PollTimeHistogram poll_time;          // empty unless RuntimeOptions::metrics_poll_histogram

    /// busy / uptime (0 before the worker started).
    double busy_ratio() const noexcept {
        return uptime.count() > 0 ? static_cast<double>(busy.count()) / static_cast<double>(uptime.count()) : 0.0;
    }
};

/// The blocking pool behind offload() (RuntimeOptions::max_blocking_threads).
struct BlockingPoolMetrics {
    std::uint64_t threads = 0;      // alive
    std::uint64_t busy = 0;         // inside a call
    std::uint64_t idle = 0;         // waiting for a call (until blocking_keep_alive)
    std::uint64_t queued = 0;       // calls waiting for a thread (all max_threads are busy)
    std::uint64_t max_threads = 0;
    std::uint64_t calls = 0;        // counter: calls submitted
};

/// The oneTBB arena behind compute() (RuntimeOptions::compute_threads).
struct ComputeMetrics {
    std::uint64_t threads = 0;   // the arena's size
    std::uint64_t calls = 0;     // counter: calls submitted
    std::uint64_t running = 0;   // started, not finished
    std::uint64_t queued = 0;    // submitted, not started
};

/// A runtime's figures: one WorkerMetrics per worker, then runtime-wide ones.
struct RuntimeMetrics {
    std::string name;                     // RuntimeOptions::name
    std::chrono::nanoseconds uptime{0};   // since the runtime was built
    bool poll_time_histogram = false;     // RuntimeOptions::metrics_poll_histogram
    std::vector<WorkerMetrics> workers;
    std::uint64_t injection_queue_depth = 0;  // tasks from other threads not taken yet (approx.)
    BlockingPoolMetrics blocking;
    ComputeMetrics compute;

    /// The workers' figures added up (index 0; busy and uptime summed over workers, so
    /// busy_ratio() is the runtime's average).
    WorkerMetrics total() const;
};

/// The snapshot of the runtime the calling task runs on (Runtime::metrics() from outside).
/// Throws UsageError outside a weft task.
RuntimeMetrics runtime_metrics();

}  // namespace weft
