// weft::Runtime: a set of worker threads, one event loop per core.
//
//   weft::Runtime rt({.workers = 4});         // returns once all 4 workers are running
//   auto h = rt.spawn(serve(), "server");      // from any thread
//   int rc = weft::block_on(rt, main_task());  // run a task, wait on this thread
//   // ~Runtime(): stops the workers and joins them
//
// Each worker owns a local run queue (others steal half of it when idle), a LIFO
// slot for the task it just woke, and parks (0% CPU) when there is nothing to do.
// Tasks spawned from plain threads enter through a shared injection queue.
#pragma once

#include <chrono>
#include <concepts>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/detail/context_inherit.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/detail/task_hooks.hpp>
#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/runtime_metrics.hpp>
#include <weft/task.hpp>

namespace weft {

struct RuntimeOptions {
    unsigned workers = 0;        // 0: one per CPU this process may use
    std::string name = "weft";   // worker threads are named "<name>-<index>"
    // Pin worker i to the i-th CPU this process may use (wrapping round when there are more
    // workers than CPUs), as libfork and Seastar do. The OS then never migrates a worker
    // or stacks two on one CPU while another idles: short fork-join runs stop losing
    // milliseconds to that. Best when the runtime has the machine to itself (one worker
    // per CPU). Off by default: with fewer workers than CPUs, two pinned runtimes, or
    // another busy process, the OS could no longer move work to the idle or faster CPUs.
    // (The blocking pool's threads may use every CPU; a thread a task starts itself inherits
    // its worker's one CPU, as on Linux any thread inherits its starter's.)
    bool pin_workers = false;
    // Tests: a paused clock that jumps to the next timer whenever the worker would sleep,
    // so sleeps of hours finish at once and in order. Needs workers = 1. Work arriving
    // from other threads (offload) does not hold the clock back. A deadline that never comes
    // (hours::max(), more than a century away) is never jumped to: a worker left with only
    // such timers waits, as on the real clock.
    bool virtual_time = false;
    // Executor bridge (offload.hpp, compute.hpp). The blocking pool starts threads on demand
    // up to this cap (Tokio's default; at least 1), queues calls beyond it, and retires a thread idle for
    // `blocking_keep_alive`.
    unsigned max_blocking_threads = 512;
    std::chrono::milliseconds blocking_keep_alive{10'000};
    unsigned compute_threads = 0;  // the oneTBB arena behind compute(); 0: one per CPU
    // shutdown() waits this long for offloaded/compute calls still running, then abandons them
    // (their tasks end with RuntimeShutDown) and logs each one.
    std::chrono::milliseconds shutdown_timeout{10'000};
    // Shutdown cancels, then waits (asyncio.run): when weft::run's main task returns, or the
    // runtime is shut down or destroyed, every task still alive is cancelled and the loops keep
    // running for up to this long, so that their `catch (CancelledError)` blocks and awaited
    // cleanup run (tasks spawned meanwhile run normally). Shutdown goes on as soon as nothing
    // is left to run. Tasks still alive then (they refused the cancellation, or block) are
    // destroyed where they stand and named in one log line. asyncio waits without a bound;
    // 5 s keeps a stuck task from hanging the process.
    std::chrono::milliseconds shutdown_grace{5'000};
    // Keep the list of live tasks that weft::all_tasks() returns (all_tasks.hpp). Off: spawn
    // then does nothing for it.
    bool track_tasks = false;
    // Seeing inside (task_dump.hpp, control.hpp). The task registry: every live task's id, name,
    // state, worker, spawn location, parent, resumes, busy time and what it awaits, for
    // Runtime::dump(), the control socket and SIGUSR1 (implies track_tasks). Costs a locked
    // insert and erase per task and two clock reads per resume; off, nothing.
    bool task_registry = false;
    // Debug mode (also WEFT_DEBUG=1 in the environment; implies task_registry): a resume that
    // runs longer than `slow_resume` without suspending is logged (task id, name, spawn
    // location); a watchdog logs a worker stuck in one resume for `slow_resume`; tasks alive at
    // shutdown are listed.
    bool debug = false;
    std::chrono::milliseconds slow_resume{100};
    // A Unix stream socket serving `ps`, `pstree` and `json` (control.hpp; also WEFT_CONTROL=path
    // in the environment; implies task_registry). Empty: none. Removed at shutdown.
    std::string control_socket{};
    // Time every poll for RuntimeMetrics' poll-time histogram (runtime_metrics.hpp): two clock
    // reads per task resume, which a fine-grained task feels (bench/yield 3.3x slower, spawn
    // 1.35x; skynet unchanged: its children run inline). The other metrics are always on.
    bool metrics_poll_histogram = false;
};

struct RuntimeDump;

namespace detail {
// A callback of Runtime::call_soon_threadsafe, type-erased (move-only callables too).
class ThreadsafeCallback {
public:
    virtual ~ThreadsafeCallback() = default;
    virtual void run() = 0;
};
template <class Fn>
class ThreadsafeCallbackOf final : public ThreadsafeCallback {
public:
    explicit ThreadsafeCallbackOf(Fn fn) : fn_(std::move(fn)) {}
    void run() override { fn_(); }

private:
    Fn fn_;
};
class ThreadsafeCallbacks;  // threadsafe_callbacks.hpp: the runtime's FIFO of them
}  // namespace detail

class Runtime {
public:
    explicit Runtime(RuntimeOptions options = {});
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    /// Queues `task` on this runtime; callable from any thread.
    template <class T>
    JoinHandle<T> spawn(Task<T> task, std::string_view name = {},
                        std::source_location where = std::source_location::current()) {
        auto handle = detail::TaskAccess::release_unspent(task, "Runtime::spawn");
        detail::hooks::spawned(&handle.promise(), name, where);
        detail::spawn_extras_if_any(&handle.promise(), core_.get(), where);  // this thread's or task's context
        detail::launch(core_.get(), &handle.promise(), handle, name);
        return JoinHandle<T>(&handle.promise());
    }

    /// Runs `fn()` on one of the loops soon; callable from any thread (asyncio's
    /// loop.call_soon_threadsafe). Fire and forget: if fn throws, the failure is logged. For a
    /// result or a handle use spawn() or weft::run_coroutine_threadsafe (threadsafe.hpp).
    /// As in asyncio, the callbacks run one at a time, in the order the calls were made (one
    /// FIFO per runtime, drained by one task): a thread handing items over this way keeps
    /// their order. After shutdown: RuntimeShutDown; callbacks still queued at the end of the
    /// shutdown's grace period are dropped.
    template <std::invocable Fn>
    void call_soon_threadsafe(Fn fn) {
        if constexpr (std::is_constructible_v<bool, const Fn&>) {
            if (!static_cast<bool>(fn)) throw UsageError("Runtime::call_soon_threadsafe: the callback is empty");
        }
        call_soon_threadsafe_erased(std::make_unique<detail::ThreadsafeCallbackOf<Fn>>(std::move(fn)));
    }

    unsigned worker_count() const noexcept;

    /// A snapshot of the runtime's metrics (runtime_metrics.hpp), from any thread, at any time
    /// (after shutdown too). Inside a task, weft::runtime_metrics() is the same.
    ///
    ///   for (const weft::WorkerMetrics& w : rt.metrics().workers) print(w.index, w.polls);
    RuntimeMetrics metrics() const;

    /// Cancels every task still alive and keeps the loops running until they have unwound
    /// (their catch blocks and awaited cleanup run; one never started ends cancelled unrun),
    /// for at most RuntimeOptions::shutdown_grace; then stops the workers and joins them.
    /// Tasks still alive then are destroyed where they stand (their JoinHandles report
    /// RuntimeShutDown) and named in one log line. Offloaded calls not started yet are
    /// dropped; running ones get up to RuntimeOptions::shutdown_timeout more to finish, then
    /// are abandoned (logged). Idempotent; the destructor calls it. From a worker of this
    /// runtime it throws UsageError.
    ///
    ///   weft::Runtime rt;
    ///   rt.spawn(serve(), "server").detach();  // catch (CancelledError) { flush(); throw; }
    ///   ...
    ///   rt.shutdown();                           // serve() is cancelled, flushes, ends
    void shutdown();

    /// Every live task and what it awaits, as a tree, a table and JSON (task_dump.hpp). Needs
    /// RuntimeOptions::task_registry (or debug, or a control socket): UsageError otherwise.
    RuntimeDump dump();

    detail::RuntimeCore& core() noexcept { return *core_; }

private:
    void call_soon_threadsafe_erased(std::unique_ptr<detail::ThreadsafeCallback> callback);

    std::unique_ptr<detail::RuntimeCore> core_;
    std::shared_ptr<detail::ThreadsafeCallbacks> threadsafe_callbacks_;
};

}  // namespace weft
