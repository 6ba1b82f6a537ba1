// RuntimeMetrics snapshots (runtime_metrics.hpp): reads what the workers, the blocking pool and
// the compute arena count. Nothing here is on a hot path; every figure is a relaxed load, except
// the blocking pool's, which are read under its lock.
#include <weft/runtime_metrics.hpp>

#include <algorithm>

#include <weft/detail/context.hpp>
#include <weft/error.hpp>
#include <weft/prometheus_text.hpp>
#include <weft/runtime.hpp>

#include "executor_bridge.hpp"
#include "runtime_core.hpp"
#include "worker.hpp"
#include "worker_metrics.hpp"

namespace weft {

namespace {

WorkerMetrics worker_metrics(detail::Worker& worker, std::uint64_t now_ns) {
    const detail::WorkerMetricsCounters& c = worker.metrics();
    WorkerMetrics m;
    m.index = worker.index();
    m.polls = c.polls.read();
    m.lifo_hits = c.lifo_hits.read();
    m.injected_taken = c.injected_taken.read();
    m.steal_attempts = c.steal_attempts.read();
    m.steals = c.steals.read();
    m.tasks_stolen = c.tasks_stolen.read();
    m.parks = c.parks.read();
    m.unparks = c.unparks.read();
    m.timers_armed = c.timers_armed.read();
    m.io_events = c.io_events.read();
    // Busy time = uptime - time asleep (including a sleep in progress), the asleep fields
    // read as one (WorkerMetricsCounters::read_asleep), so it never goes down between snapshots.
    const std::uint64_t started = c.started_ns.read();
    const detail::WorkerMetricsCounters::Asleep recorded = c.read_asleep();
    const std::uint64_t now = std::max(now_ns, recorded.now_ns);
    if (started != 0 && now > started) {
        const std::uint64_t uptime = now - started;
        std::uint64_t asleep = recorded.total_ns;
        const std::uint64_t since = recorded.since_ns;
        if (since != 0 && now > since) asleep += now - since;
        m.asleep = since != 0;
        m.uptime = std::chrono::nanoseconds(uptime);
        m.busy = std::chrono::nanoseconds(c.report_busy(uptime - std::min(asleep, uptime)));
        if (m.busy > m.uptime) m.uptime = m.busy;  // (only if the clocks disagreed)
    }
    m.local_queue_depth = static_cast<std::uint64_t>(worker.local_queue_depth());
    m.timers = worker.armed_timers();
    m.io_registrations = worker.io_driver().registration_count();
    if (const detail::PollTimeCounters* times = worker.poll_times()) {
        for (unsigned i = 0; i < PollTimeHistogram::kBuckets; ++i) {
            m.poll_time.buckets[i] = times->buckets[i].read();
            m.poll_time.count += m.poll_time.buckets[i];
        }
        m.poll_time.sum_ns = times->sum_ns.read();
    }
    return m;
}

RuntimeMetrics collect(detail::RuntimeCore& core) {
    const std::uint64_t now_ns = detail::metrics_clock_ns();
    RuntimeMetrics m;
    m.name = core.options().name;
    m.uptime = std::chrono::steady_clock::now() - core.started_at();
    m.poll_time_histogram = core.options().metrics_poll_histogram;
    m.workers.reserve(core.worker_count());
    for (unsigned i = 0; i < core.worker_count(); ++i) m.workers.push_back(worker_metrics(core.worker(i), now_ns));
    m.injection_queue_depth = core.injected_count();

    const detail::BlockingPool::Stats pool = core.bridge().blocking_pool_stats();
    m.blocking = BlockingPoolMetrics{
        .threads = pool.threads,
        .busy = pool.busy,
        .idle = pool.idle,
        .queued = pool.queued,
        .max_threads = pool.max_threads,
        .calls = pool.calls,
    };
    // Read in the reverse order of the increments (submitted, started, finished), so that
    // each difference is at least what it was (clamped anyway: relaxed loads).
    const detail::ComputeArena& arena = core.bridge().compute_arena();
    const std::uint64_t finished = arena.counts().finished.load(detail::memory_order_relaxed);
    const std::uint64_t started = std::max(finished, arena.counts().started.load(detail::memory_order_relaxed));
    const std::uint64_t submitted = std::max(started, arena.counts().submitted.load(detail::memory_order_relaxed));
    m.compute = ComputeMetrics{
        .threads = arena.threads(),
        .calls = submitted,
        .running = started - finished,
        .queued = submitted - started,
    };
    return m;
}

}  // namespace

WorkerMetrics RuntimeMetrics::total() const {
    WorkerMetrics sum;
    for (const WorkerMetrics& w : workers) {
        sum.polls += w.polls;
        sum.lifo_hits += w.lifo_hits;
        sum.injected_taken += w.injected_taken;
        sum.steal_attempts += w.steal_attempts;
        sum.steals += w.steals;
        sum.tasks_stolen += w.tasks_stolen;
        sum.parks += w.parks;
        sum.unparks += w.unparks;
        sum.timers_armed += w.timers_armed;
        sum.io_events += w.io_events;
        sum.busy += w.busy;
        sum.uptime += w.uptime;
        sum.local_queue_depth += w.local_queue_depth;
        sum.timers += w.timers;
        sum.io_registrations += w.io_registrations;
        for (unsigned i = 0; i < PollTimeHistogram::kBuckets; ++i) sum.poll_time.buckets[i] += w.poll_time.buckets[i];
        sum.poll_time.count += w.poll_time.count;
        sum.poll_time.sum_ns += w.poll_time.sum_ns;
    }
    return sum;
}

RuntimeMetrics Runtime::metrics() const { return collect(*core_); }

namespace detail {
std::string metrics_text(RuntimeCore& core) { return metrics::prometheus_text(collect(core)); }
}  // namespace detail

RuntimeMetrics runtime_metrics() {
    detail::RuntimeCore* core = detail::tls_context.runtime;
    if (!core) throw UsageError("weft::runtime_metrics() used outside a weft task (use Runtime::metrics())");
    return collect(*core);
}

}  // namespace weft
