// The executor bridge of one runtime: the blocking pool, the compute arena, and the list of
// calls in flight that shutdown waits for.
//
// During the runtime's drain, while the loops run, cancel_awaiting_tasks() cancels each task
// still awaiting a call (BridgeCall step 5); the drain then waits for the calls to return.
//
// Shutdown protocol (RuntimeCore::shutdown, after the worker threads have been joined, so no
// task can submit any more, and before the runtime abandons its queued tasks):
//  1. Close: further submits throw RuntimeShutDown.
//  2. Every call not started yet is abandoned: its task is woken (and so later ended with
//     RuntimeShutDown); the pool drops its queue, the arena skips such calls when it gets to
//     them.
//  3. Wait up to RuntimeOptions::shutdown_timeout for the running calls to finish. A call that
//     finishes wakes its task the usual way; the runtime then abandons it.
//  4. Calls still running are abandoned (their stop is requested, their tasks woken) and each
//     is logged. They finish in the background; their pool threads are detached, and
//     InflightCalls stays alive until the last of them has left it.
// After this no executor thread touches a task or the runtime again.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include <weft/detail/bridge_call.hpp>
#include <weft/runtime.hpp>

#include "blocking_pool.hpp"
#include "compute_arena.hpp"

namespace weft::detail {

// The calls submitted and not yet finished, as an intrusive list. Lives until both the
// bridge and the last call in it have let go (a call may outlive its runtime, step 4).
class InflightCalls {
public:
    static InflightCalls* create() { return new InflightCalls(); }

    void add(BridgeCall* call);               // throws RuntimeShutDown once closed
    static void remove(BridgeCall* call) noexcept;  // the call is done with the bridge
    void close() noexcept;
    // Steps 2-4 call `fn` on each call still in the list, under the lock (keep fn short).
    template <class Fn>
    void for_each(Fn&& fn);
    bool wait_empty_until(std::chrono::steady_clock::time_point deadline);
    bool empty();
    void release_owner() noexcept;  // the bridge lets go

private:
    InflightCalls() = default;

    std::mutex mutex_;
    std::condition_variable empty_cv_;
    BridgeCall* head_ = nullptr;
    std::size_t count_ = 0;
    bool closed_ = false;
    bool owner_gone_ = false;
};

template <class Fn>
void InflightCalls::for_each(Fn&& fn) {
    std::lock_guard lock(mutex_);
    for (BridgeCall* call = head_; call; call = call->inflight_next) fn(call);
}

class ExecutorBridge {
public:
    // `worker_cpus`: the CPUs a pinned runtime's workers share out (empty: not pinned); the
    // blocking pool's threads may use all of them.
    ExecutorBridge(const RuntimeOptions& options, const std::vector<int>& worker_cpus);
    ~ExecutorBridge();
    ExecutorBridge(const ExecutorBridge&) = delete;
    ExecutorBridge& operator=(const ExecutorBridge&) = delete;

    void submit(BridgeExecutor executor, BridgeCall* call);
    // Some offloaded/compute call has not finished (the runtime's drain waits for it).
    bool busy() { return !inflight_->empty(); }
    // The drain's cancellation of the tasks awaiting a call (BridgeCall step 5): no worker can
    // reach them. Each is cancelled once (request_shutdown_cancel); safe to repeat.
    void cancel_awaiting_tasks() noexcept;
    void shutdown() noexcept;
    BlockingPool::Stats blocking_pool_stats() const { return pool_.stats(); }  // tests, metrics
    const ComputeArena& compute_arena() const noexcept { return arena_; }      // metrics

private:
    void log_abandoned(BridgeCall* call, std::chrono::steady_clock::time_point now) const noexcept;

    std::string runtime_name_;
    std::chrono::milliseconds shutdown_timeout_;
    InflightCalls* inflight_;
    BlockingPool pool_;
    ComputeArena arena_;
    bool shut_down_ = false;
};

}  // namespace weft::detail
