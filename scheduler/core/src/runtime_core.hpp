// The shared part of a runtime: its workers, the injection queue for tasks arriving
// from other threads, and the idle-worker bookkeeping that decides who to wake.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/runtime.hpp>
#include "idle_counts.hpp"

namespace weft::detail {

class Worker;
class ExecutorBridge;
class Inspector;

class RuntimeCore {
public:
    explicit RuntimeCore(RuntimeOptions options);
    ~RuntimeCore();

    void start();
    void shutdown();

    // Queues a task from a thread that is not one of this runtime's workers.
    void inject(TaskHeader* task);
    void inject_batch(TaskHeader** tasks, std::size_t count, moodycamel::ProducerToken& token);
    TaskHeader* take_injected(moodycamel::ConsumerToken& token, Worker& into);
    bool has_injected() const noexcept { return injected_.load(memory_order_seq_cst) > 0; }
    std::uint64_t injected_count() const noexcept {  // metrics: approximate
        std::int64_t n = injected_.load(memory_order_relaxed);
        return n > 0 ? static_cast<std::uint64_t>(n) : 0;
    }

    // Wakes one parked worker if nobody is searching (protocol step 1).
    void notify_work() noexcept;
    bool any_stealable_work() const noexcept;
    // A hint (relaxed loads): some worker is searching or parked.
    bool has_idle_workers() const noexcept { return idle_.any(); }
    // A worker went idle, or the runtime is stopping: every worker's next push looks at the
    // idle counts (and publishes, or refuses) instead of staying private.
    void publish_on_next_pushes() noexcept;

    // Lifecycle (shutdown protocol in runtime_core.cpp): running -> draining (every task alive
    // is cancelled and may unwind; spawns still work) -> stopping (spawns refused, loops end).
    enum Phase : std::uint8_t { kRunning, kDraining, kStopping };
    Phase phase() const noexcept { return static_cast<Phase>(phase_.load(memory_order_relaxed)); }
    bool stopping() const noexcept { return phase() == kStopping; }
    bool draining() const noexcept { return phase() == kDraining; }
    // A draining worker has run out of work with no timer armed and nobody waiting on its
    // sockets (quiet), or found work again.
    void worker_quiet(bool quiet);
    // Step 1 of the shutdown protocol, from any thread (weft::run begins it on the worker where
    // its main task ended, so that no other task runs in between, as in asyncio.run).
    void begin_drain() noexcept;

    // The runtime's clock: steady_clock, or a virtual clock that only moves when the
    // (single) worker would otherwise sleep until its next timer. Ticks are ms since start.
    std::chrono::steady_clock::time_point now() const noexcept;
    std::chrono::steady_clock::time_point started_at() const noexcept { return epoch_; }  // real time
    std::uint64_t now_ticks() const noexcept;
    std::uint64_t ticks_at(std::chrono::steady_clock::time_point when) const noexcept;  // rounded up
    bool virtual_time() const noexcept { return options_.virtual_time; }
    void advance_virtual_ticks(std::uint64_t tick) noexcept;
    // The paused clock never jumps this far (a century): a later deadline is one that never
    // comes (a saturated "never", hours::max()), and a worker whose next timer it is parks as
    // if it had none, as it would wait on the real clock (a deadlocked test hangs rather than
    // time out; and now() never overflows).
    static constexpr std::uint64_t kVirtualNeverTicks = std::uint64_t{100} * 366 * 24 * 3600 * 1000;
    unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }
    // A worker's thread is up and ready to run tasks (start() waits for all of them).
    void worker_ready() noexcept;
    Worker& worker(unsigned index) noexcept { return *workers_[index]; }
    IdleCounts& idle() noexcept { return idle_; }
    moodycamel::ConcurrentQueue<TaskHeader*>& injection() noexcept { return injection_; }
    const RuntimeOptions& options() const noexcept { return options_; }
    // all_tasks()'s list: set only with RuntimeOptions::track_tasks.
    const std::shared_ptr<TaskRegistry>& task_registry() const noexcept { return task_registry_; }
    // The CPU worker `index` pins itself to (RuntimeOptions::pin_workers), or -1: unpinned.
    int worker_cpu(unsigned index) const noexcept {
        return worker_cpus_.empty() ? -1 : worker_cpus_[index % worker_cpus_.size()];
    }
    ExecutorBridge& bridge() noexcept { return *bridge_; }  // offload/compute (executor_bridge.hpp)
    // The task registry's thread (inspector.hpp): set only with RuntimeOptions::task_registry.
    Inspector* inspector() noexcept { return inspector_.get(); }

private:
    void wake_one_sleeper() noexcept;
    void cancel_and_wait();
    void abandon_queued_tasks();
    void log_stragglers(const std::vector<std::string>& stragglers) const noexcept;
    void log_alive_tasks() const noexcept;

    RuntimeOptions options_;
    std::shared_ptr<TaskRegistry> task_registry_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;
    std::vector<int> worker_cpus_;  // pin_workers: the constructing thread's CPUs, in order
    Atomic<unsigned> workers_ready_{0};
    moodycamel::ConcurrentQueue<TaskHeader*> injection_;
    alignas(kCacheLine) Atomic<std::int64_t> injected_{0};  // approximate size of injection_
    IdleCounts idle_;
    alignas(kCacheLine) Atomic<std::uint8_t> phase_{kRunning};
    Atomic<unsigned> wake_cursor_{0};
    std::chrono::steady_clock::time_point epoch_ = std::chrono::steady_clock::now();
    Atomic<std::uint64_t> virtual_elapsed_ms_{0};
    std::unique_ptr<ExecutorBridge> bridge_;
    std::unique_ptr<Inspector> inspector_;
    std::mutex shutdown_mutex_;
    bool shut_down_ = false;
    std::mutex drain_mutex_;  // worker_quiet() and the shutdown that waits for it
    std::condition_variable drain_cv_;
    unsigned quiet_workers_ = 0;
    std::chrono::steady_clock::time_point drain_deadline_;  // set by begin_drain()
};

// Drops a task that will never run: completes it with RuntimeShutDown, and does the
// same for the chain of tasks waiting to join it. Each one is named in `stragglers` if given.
void abandon_task(TaskHeader* task, std::vector<std::string>* stragglers = nullptr) noexcept;
// Appends "task <id> '<name>'" (the log line's words for a straggler); never throws.
void name_straggler(const TaskHeader* task, std::vector<std::string>& stragglers) noexcept;

// Wakes a joining task or calls a listener, as `task` finished (join_waiter was `joiner`).
void notify_joiner(TaskHeader* task, std::uintptr_t joiner) noexcept;

// The finished task's first step of closing: returns the observer it had (kDetached:
// the caller frees the frame; an observer > kLastJoinMarker: the word is kJoinClosing
// and the caller notifies it, then stores kJoinClosed; else it is closed already).
std::uintptr_t begin_close(TaskHeader* task) noexcept;

// Closes a finished task: notifies its observer, or frees it if it was detached. The
// caller must not touch the task afterwards.
void close_join(TaskHeader* task) noexcept;

}  // namespace weft::detail
