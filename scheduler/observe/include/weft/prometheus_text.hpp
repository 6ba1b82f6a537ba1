// weft::metrics::prometheus_text(): a RuntimeMetrics snapshot in Prometheus' text exposition
// format 0.0.4 (what a /metrics endpoint serves).
//
//   std::string text = weft::metrics::prometheus_text(rt.metrics());
//   // # HELP weft_worker_polls_total Task resumes (polls) on the worker.
//   // # TYPE weft_worker_polls_total counter
//   // weft_worker_polls_total{worker="0"} 1234
//   // ...
//   // HTTP: weft::http::metrics_handler() serves it (io/http, metrics_handler.hpp)
//
// Per-worker series carry a `worker` label; runtime-wide ones (workers, uptime, the injection
// queue, the blocking pool, the compute arena) none. Counters end in _total; the poll-time
// histogram (weft_worker_poll_duration_seconds, with _bucket{le=...}, _sum and _count; le in
// seconds, powers of two from 1.024e-06) is present only with
// RuntimeOptions::metrics_poll_histogram. Durations are in seconds, as Prometheus wants.
#pragma once

#include <string>
#include <string_view>

#include <weft/runtime_metrics.hpp>

namespace weft::metrics {

/// The Content-Type of prometheus_text()'s output.
inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

/// `metrics` as Prometheus text (every line ends in '\n').
std::string prometheus_text(const RuntimeMetrics& metrics);

}  // namespace weft::metrics
