// weft::http::metrics_handler(): a handler that serves the running runtime's metrics in
// Prometheus' text format (runtime_metrics.hpp, prometheus_text.hpp), for a scraper or
// tools/weft-top.
//
//   weft::http::Router router;
//   router.get("/metrics", weft::http::metrics_handler());
//   // curl http://127.0.0.1:8080/metrics
//   // # HELP weft_worker_polls_total Task resumes (polls) on the worker.
//   // # TYPE weft_worker_polls_total counter
//   // weft_worker_polls_total{worker="0"} 1234
//
// Each request takes a fresh snapshot of the runtime the handler runs on (weft::runtime_metrics())
// and answers 200 with Content-Type `text/plain; version=0.0.4; charset=utf-8`. Mount it where
// only those who may see the process' internals can reach it.
#pragma once

#include <weft/http/router.hpp>

namespace weft::http {

/// A Router handler answering with weft::metrics::prometheus_text(weft::runtime_metrics()).
Handler metrics_handler();

}  // namespace weft::http
