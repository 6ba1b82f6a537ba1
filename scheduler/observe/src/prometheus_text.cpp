// RuntimeMetrics as Prometheus text, format 0.0.4 (prometheus_text.hpp): for each metric
// family a HELP line, a TYPE line, then its samples, one per line.
#include <weft/prometheus_text.hpp>

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace weft::metrics {

namespace {

class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}

    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    // name{labels} value; `labels` is "" or `key="value",...` (values need no escaping here).
    template <class Value>
    void sample(std::string_view name, std::string_view labels, Value value) {
        out_ += name;
        if (!labels.empty()) {
            out_ += '{';
            out_ += labels;
            out_ += '}';
        }
        out_ += ' ';
        number(value);
        out_ += '\n';
    }

private:
    void number(std::uint64_t value) { append(value); }
    void number(double value) { append(value); }
    template <class Value>
    void append(Value value) {
        char buffer[32];
        auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
        out_.append(buffer, end);
    }

    std::string& out_;
};

double seconds(std::chrono::nanoseconds ns) { return static_cast<double>(ns.count()) / 1e9; }

std::string worker_label(unsigned index) { return "worker=\"" + std::to_string(index) + "\""; }

struct WorkerSeries {
    std::string_view name;
    std::string_view type;
    std::string_view help;
    double (*value)(const WorkerMetrics&);
};

template <auto Field>
double as_double(const WorkerMetrics& w) {
    return static_cast<double>(w.*Field);
}

constexpr WorkerSeries kWorkerSeries[] = {
    {"weft_worker_polls_total", "counter", "Task resumes (polls) on the worker.", as_double<&WorkerMetrics::polls>},
    {"weft_worker_lifo_hits_total", "counter", "Tasks the worker took from its LIFO slot.",
     as_double<&WorkerMetrics::lifo_hits>},
    {"weft_worker_injected_taken_total", "counter", "Tasks the worker took from the injection queue.",
     as_double<&WorkerMetrics::injected_taken>},
    {"weft_worker_steal_attempts_total", "counter", "Other workers' queues the worker looked into for work.",
     as_double<&WorkerMetrics::steal_attempts>},
    {"weft_worker_steals_total", "counter", "Steal attempts that found work.", as_double<&WorkerMetrics::steals>},
    {"weft_worker_stolen_tasks_total", "counter", "Tasks the worker stole.", as_double<&WorkerMetrics::tasks_stolen>},
    {"weft_worker_parks_total", "counter", "Times the worker ran out of work and parked.",
     as_double<&WorkerMetrics::parks>},
    {"weft_worker_unparks_total", "counter", "Times the worker was woken from a park.",
     as_double<&WorkerMetrics::unparks>},
    {"weft_worker_timers_armed_total", "counter", "Timers put on the worker's wheel.",
     as_double<&WorkerMetrics::timers_armed>},
    {"weft_worker_io_events_total", "counter", "I/O readiness events the worker's driver delivered.",
     as_double<&WorkerMetrics::io_events>},
    {"weft_worker_busy_seconds_total", "counter", "Time the worker was not asleep in park.",
     [](const WorkerMetrics& w) { return seconds(w.busy); }},
    {"weft_worker_uptime_seconds", "gauge", "Time since the worker's thread started.",
     [](const WorkerMetrics& w) { return seconds(w.uptime); }},
    {"weft_worker_local_queue_depth", "gauge", "Tasks in the worker's run queue.",
     as_double<&WorkerMetrics::local_queue_depth>},
    {"weft_worker_timers_pending", "gauge", "Timers pending on the worker's wheel.", as_double<&WorkerMetrics::timers>},
    {"weft_worker_io_registrations", "gauge", "Sockets and pipes registered with the worker's I/O driver.",
     as_double<&WorkerMetrics::io_registrations>},
    {"weft_worker_asleep", "gauge", "1 while the worker is asleep in a park.",
     [](const WorkerMetrics& w) { return w.asleep ? 1.0 : 0.0; }},
};

}  // namespace

std::string prometheus_text(const RuntimeMetrics& m) {
    std::string out;
    out.reserve(2048 + m.workers.size() * (m.poll_time_histogram ? 2600 : 800));
    Writer w(out);
    std::vector<std::string> labels;
    labels.reserve(m.workers.size());
    for (const WorkerMetrics& worker : m.workers) labels.push_back(worker_label(worker.index));

    w.family("weft_workers", "gauge", "Worker threads of the runtime.");
    w.sample("weft_workers", "", static_cast<std::uint64_t>(m.workers.size()));
    w.family("weft_uptime_seconds", "gauge", "Time since the runtime was built.");
    w.sample("weft_uptime_seconds", "", seconds(m.uptime));
    w.family("weft_injection_queue_depth", "gauge", "Tasks from other threads not taken by a worker yet.");
    w.sample("weft_injection_queue_depth", "", m.injection_queue_depth);

    for (const WorkerSeries& series : kWorkerSeries) {
        w.family(series.name, series.type, series.help);
        for (std::size_t i = 0; i < m.workers.size(); ++i) {
            const double value = series.value(m.workers[i]);
            // Counts print as integers; durations as shortest round-trip decimals.
            const bool whole = value == static_cast<double>(static_cast<std::uint64_t>(value)) && value < 1e15;
            if (whole) {
                w.sample(series.name, labels[i], static_cast<std::uint64_t>(value));
            } else {
                w.sample(series.name, labels[i], value);
            }
        }
    }

    if (m.poll_time_histogram) {
        constexpr std::string_view name = "weft_worker_poll_duration_seconds";
        w.family(name, "histogram", "Time each task resume ran before it suspended or finished.");
        for (std::size_t i = 0; i < m.workers.size(); ++i) {
            const PollTimeHistogram& h = m.workers[i].poll_time;
            std::uint64_t cumulative = 0;
            for (unsigned b = 0; b < PollTimeHistogram::kBuckets; ++b) {
                cumulative += h.buckets[b];
                std::string le;
                if (b + 1 < PollTimeHistogram::kBuckets) {
                    char buffer[32];
                    const double bound = static_cast<double>(PollTimeHistogram::upper_bound_ns(b)) / 1e9;
                    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, bound);
                    le.assign(buffer, end);
                } else {
                    le = "+Inf";
                }
                w.sample("weft_worker_poll_duration_seconds_bucket", labels[i] + ",le=\"" + le + "\"", cumulative);
            }
            w.sample("weft_worker_poll_duration_seconds_sum", labels[i], static_cast<double>(h.sum_ns) / 1e9);
            w.sample("weft_worker_poll_duration_seconds_count", labels[i], cumulative);
        }
    }

    const BlockingPoolMetrics& b = m.blocking;
    w.family("weft_blocking_threads", "gauge", "Blocking-pool threads alive.");
    w.sample("weft_blocking_threads", "", b.threads);
    w.family("weft_blocking_threads_busy", "gauge", "Blocking-pool threads inside a call.");
    w.sample("weft_blocking_threads_busy", "", b.busy);
    w.family("weft_blocking_threads_idle", "gauge", "Blocking-pool threads waiting for a call.");
    w.sample("weft_blocking_threads_idle", "", b.idle);
    w.family("weft_blocking_queue_depth", "gauge", "Offloaded calls waiting for a blocking-pool thread.");
    w.sample("weft_blocking_queue_depth", "", b.queued);
    w.family("weft_blocking_max_threads", "gauge", "The blocking pool's thread cap.");
    w.sample("weft_blocking_max_threads", "", b.max_threads);
    w.family("weft_blocking_calls_total", "counter", "Calls submitted to the blocking pool.");
    w.sample("weft_blocking_calls_total", "", b.calls);

    const ComputeMetrics& c = m.compute;
    w.family("weft_compute_threads", "gauge", "Threads of the compute arena.");
    w.sample("weft_compute_threads", "", c.threads);
    w.family("weft_compute_calls_total", "counter", "Calls submitted to the compute arena.");
    w.sample("weft_compute_calls_total", "", c.calls);
    w.family("weft_compute_calls_running", "gauge", "Compute calls started and not finished.");
    w.sample("weft_compute_calls_running", "", c.running);
    w.family("weft_compute_queue_depth", "gauge", "Compute calls submitted and not started.");
    w.sample("weft_compute_queue_depth", "", c.queued);
    return out;
}

}  // namespace weft::metrics
