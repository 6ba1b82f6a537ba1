// weft — the umbrella header: everything a user of weft:: needs, in one include.
//
//     #include <weft/weft.hpp>
//
//     weft::Task<int> answer() { co_return 42; }
//     int main() { return weft::run(answer()) == 42 ? 0 : 1; }
//
// Link weft::weft. Components include only their own headers; this one grows with them.
// Not included: <weft/compute.hpp> (weft::compute), which brings oneTBB's headers: a user who
// never calls compute() compiles none of them.
#pragma once

#include <weft/all_tasks.hpp>
#include <weft/call_later.hpp>
#include <weft/call_soon.hpp>
#include <weft/context_var.hpp>
#include <weft/control.hpp>
#include <weft/current_task.hpp>
#include <weft/done_callback.hpp>
#include <weft/error.hpp>
#include <weft/gather.hpp>
#include <weft/join_handle.hpp>
#include <weft/offload.hpp>
#include <weft/outcome.hpp>
#include <weft/prometheus_text.hpp>
#include <weft/retry.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/runtime_metrics.hpp>
#include <weft/shield.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/task_dump.hpp>
#include <weft/task_group.hpp>
#include <weft/threadsafe.hpp>
#include <weft/timeout.hpp>
#include <weft/wait.hpp>
#include <weft/yield.hpp>

// weft::sync: locks, events, futures, conditions, semaphores, barriers, latches, queues.
#include <weft/backpressure_queue.hpp>
#include <weft/barrier.hpp>
#include <weft/batcher.hpp>
#include <weft/condition.hpp>
#include <weft/event.hpp>
#include <weft/future.hpp>
#include <weft/latch.hpp>
#include <weft/lock.hpp>
#include <weft/pool.hpp>
#include <weft/queue.hpp>
#include <weft/queue_errors.hpp>
#include <weft/rate_limiter.hpp>
#include <weft/semaphore.hpp>
#include <weft/shared_lock.hpp>

// weft::io: sockets, pipes, child processes, signals and graceful shutdown, on each worker's
// reactor; async files and DNS on the blocking pool.
#include <weft/fs.hpp>
#include <weft/io_error.hpp>
#include <weft/net/address.hpp>
#include <weft/net/open_connection.hpp>
#include <weft/net/pipe.hpp>
#include <weft/net/serve.hpp>
#include <weft/net/split.hpp>
#include <weft/net/start_server.hpp>
#include <weft/net/stream.hpp>
#include <weft/net/stream_concepts.hpp>
#include <weft/net/stream_errors.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/net/stream_writer.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/net/udp_socket.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/process/options.hpp>
#include <weft/process/process.hpp>
#include <weft/process/process_error.hpp>
#include <weft/resolve.hpp>
#include <weft/shutdown.hpp>
#include <weft/signal.hpp>

// weft::http and weft::tls: HTTP/1.1 server and client, TLS streams (OpenSSL).
#include <weft/http/client.hpp>
#include <weft/http/client_response.hpp>
#include <weft/http/errors.hpp>
#include <weft/http/headers.hpp>
#include <weft/http/http_error.hpp>
#include <weft/http/method.hpp>
#include <weft/http/metrics_handler.hpp>
#include <weft/http/request.hpp>
#include <weft/http/response.hpp>
#include <weft/http/router.hpp>
#include <weft/http/server.hpp>
#include <weft/http/status.hpp>
#include <weft/http/url.hpp>
#include <weft/tls/certificate_error.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>
#include <weft/tls/tls_error.hpp>
