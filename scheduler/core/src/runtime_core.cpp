#include "runtime_core.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/detail/context.hpp>
#include <weft/detail/context_inherit.hpp>
#include <weft/detail/deadline_after.hpp>
#include <weft/detail/parked_waits.hpp>
#include <weft/detail/task_trace.hpp>
#include <weft/error.hpp>

#include "cpu_affinity.hpp"
#include "executor_bridge.hpp"
#include "inspector.hpp"
#include "task_placement.hpp"
#include "task_registry.hpp"
#include "worker.hpp"

namespace weft::detail {

namespace {

// WEFT_DEBUG=1 and WEFT_CONTROL=path (task_dump.hpp, control.hpp); true if the socket's path
// came from the environment.
bool apply_environment(RuntimeOptions& options) {
    if (const char* debug = std::getenv("WEFT_DEBUG"); debug && *debug && std::string_view(debug) != "0")
        options.debug = true;
    bool from_env = false;
    if (const char* path = std::getenv("WEFT_CONTROL"); path && *path && options.control_socket.empty()) {
        options.control_socket = path;
        from_env = true;
    }
    if (options.debug || !options.control_socket.empty()) options.task_registry = true;
    if (options.task_registry) options.track_tasks = true;
    if (options.slow_resume.count() <= 0) throw UsageError("RuntimeOptions::slow_resume must be positive");
    if (options.max_blocking_threads == 0)
        throw UsageError("RuntimeOptions::max_blocking_threads must be at least 1 (offload() needs a thread)");
    if (options.blocking_keep_alive.count() < 0) throw UsageError("RuntimeOptions::blocking_keep_alive is negative");
    if (options.shutdown_timeout.count() < 0) throw UsageError("RuntimeOptions::shutdown_timeout is negative");
    if (options.shutdown_grace.count() < 0) throw UsageError("RuntimeOptions::shutdown_grace is negative");
    return from_env;
}

}  // namespace

RuntimeCore::RuntimeCore(RuntimeOptions options) : options_(std::move(options)) {
    const bool control_from_env = apply_environment(options_);
    if (options_.workers == 0) options_.workers = usable_cpus();
    if (options_.workers > 4096) throw UsageError("RuntimeOptions::workers is larger than 4096");
    if (options_.virtual_time && options_.workers != 1)
        throw UsageError("RuntimeOptions::virtual_time needs workers = 1 (time may only jump when nothing can run)");
    if (options_.pin_workers) {
        worker_cpus_ = allowed_cpus();
        if (worker_cpus_.empty())
            spdlog::warn("weft: runtime '{}': the allowed CPUs are unknown; its workers are not pinned", options_.name);
    }
    if (options_.track_tasks) {
        task_registry_ = std::make_shared<TaskRegistry>();
        g_spawn_extras.store(true, memory_order_relaxed);  // spawn now calls spawn_extras()
    }
    bridge_ = std::make_unique<ExecutorBridge>(options_, worker_cpus_);
    workers_.reserve(options_.workers);
    for (unsigned i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
    idle_.starting.store(options_.workers, memory_order_relaxed);
    if (options_.task_registry) {
        inspector_ = std::make_unique<Inspector>(*this, control_from_env);
        g_trace_awaits.store(true, memory_order_relaxed);  // awaiters now record what they await
    }
}

RuntimeCore::~RuntimeCore() { shutdown(); }

// Returns once every worker runs: a thread's start and its first frame slab cost up to a
// few ms on a virtual machine, which the first tasks would otherwise wait for (in fib(30)
// on 2 workers, 17 ms at best, the second worker took its first task up to 4.7 ms late).
void RuntimeCore::start() {
    threads_.reserve(workers_.size());
    for (auto& worker : workers_) threads_.emplace_back([w = worker.get()] { w->run(); });
    for (unsigned ready = workers_ready_.load(memory_order_acquire); ready < workers_.size();
         ready = workers_ready_.load(memory_order_acquire))
        workers_ready_.wait(ready, memory_order_acquire);
    if (inspector_) inspector_->start();
}

void RuntimeCore::worker_ready() noexcept {
    workers_ready_.fetch_add(1, memory_order_release);
    workers_ready_.notify_all();
}

// Shutdown protocol (asyncio.run's: cancel, then wait):
//  1. Draining: every task alive is cancelled once, and the loops keep running so that it can
//     unwind (catch blocks, awaited cleanup). Each worker, when it sees the phase, cancels the
//     tasks it can reach: those sleeping or in a timeout scope on its wheel, those waiting on
//     its sockets. Every other task gets its cancellation when a worker next runs it
//     (Worker::run_task): one queued but never started ends cancelled unrun; one waiting on a
//     child is cancelled when that wait ends (the child unwinds); one awaiting an offload() or
//     compute() call by the shutdown itself, on each pass of step 2 (the bridge's calls in
//     flight: the cancellation abandons the call and stops its stop_token); one waiting on a
//     lock, a queue or an event when its wait ends, or, if nothing ends it, by step 2.
//     Tasks spawned during the drain are not cancelled (their state word carries
//     kShutdownCancelled from the start: every spawn takes the full path, see below).
//  2. The drain ends when every worker is quiet (no task to run, no timer armed, nobody waiting
//     on its sockets), nothing is injected, no offloaded call runs and no task of ours is
//     parked in a sync primitive; or at the grace deadline. Those parked tasks are the only
//     ones no worker can reach: once the workers are quiet, the shutdown cancels them through
//     the registry of waiter lists (parked_waits.hpp).
//  3. Stopping: spawns are refused, the loops end and are joined, the executor bridge shuts down,
//     and the tasks still reachable (queued, asleep, waiting on a socket, joining them) are
//     destroyed unfinished (RuntimeShutDown) and named in one log line. Tasks still parked in
//     a sync primitive are named too, but left suspended: their wait is linked into it.
void RuntimeCore::shutdown() {
    if (own_worker(this))
        throw UsageError("Runtime::shutdown called from one of its own workers: it would join itself");
    std::lock_guard lock(shutdown_mutex_);
    if (shut_down_) return;
    shut_down_ = true;
    if (options_.debug) log_alive_tasks();
    cancel_and_wait();
    phase_.store(kStopping, memory_order_seq_cst);
    for (auto& worker : workers_) worker->unpark();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    if (inspector_) inspector_->stop();  // (the socket file goes with it)
    bridge_->shutdown();  // no task can submit now; its wake-ups land in the injection queue
    abandon_queued_tasks();
}

void RuntimeCore::begin_drain() noexcept {
    std::lock_guard lock(drain_mutex_);
    if (phase() != kRunning) return;
    drain_deadline_ = deadline_after(std::chrono::steady_clock::now(), options_.shutdown_grace);
    phase_.store(kDraining, memory_order_seq_cst);
    // Every worker's next spawn takes the full path (the inline spawn path does not look at
    // the phase), which marks it or, once stopping, refuses it. Counting as idle is the reason
    // a worker confirming a raised push limit sees (Worker::confirm_private_pushes), so this
    // poke cannot be lost; it stays until the runtime is gone.
    idle_.starting.fetch_add(1, memory_order_seq_cst);
    publish_on_next_pushes();
    for (auto& worker : workers_) worker->unpark();
}

void RuntimeCore::cancel_and_wait() {
    begin_drain();  // (weft::run's main task may have begun it, on its worker)
    std::unique_lock lock(drain_mutex_);
    const auto deadline = drain_deadline_;
    for (;;) {
        // Tasks awaiting an offload()/compute() call are out of the workers' sight too: cancel
        // them on every pass (a new call may have come since), so that they unwind while the
        // loops run; their calls, abandoned then, are waited for below.
        bridge_->cancel_awaiting_tasks();
        if (quiet_workers_ == workers_.size() && !has_injected() && !bridge_->busy()) {
            // Quiet, but tasks parked in sync primitives are out of the workers' sight: cancel
            // the ones not cancelled yet. While any is still parked (a cancelled one has not
            // resumed yet, or waits again in its cleanup), the drain goes on.
            const ParkedWaitList::Visit cancel{.runtime = this, .each = [](const Waker& waker, void*) noexcept {
                                                   request_shutdown_cancel(waker.task);
                                               }};
            if (visit_parked_waits(cancel) == 0) return;
        }
        if (std::chrono::steady_clock::now() >= deadline) return;
        // Quiet workers notify; an injected task or a finishing offloaded call does not, so
        // look again now and then.
        drain_cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
    }
}

void RuntimeCore::worker_quiet(bool quiet) {
    std::lock_guard lock(drain_mutex_);
    if (quiet) {
        if (++quiet_workers_ == workers_.size()) drain_cv_.notify_all();
    } else {
        --quiet_workers_;
    }
}

std::chrono::steady_clock::time_point RuntimeCore::now() const noexcept {
    if (options_.virtual_time)
        return epoch_ + std::chrono::milliseconds(virtual_elapsed_ms_.load(memory_order_acquire));
    return std::chrono::steady_clock::now();
}

std::uint64_t RuntimeCore::now_ticks() const noexcept {
    if (options_.virtual_time) return virtual_elapsed_ms_.load(memory_order_acquire);
    auto elapsed = std::chrono::steady_clock::now() - epoch_;
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count());
}

std::uint64_t RuntimeCore::ticks_at(std::chrono::steady_clock::time_point when) const noexcept {
    if (when <= epoch_) return 0;
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(when - epoch_).count();
    return static_cast<std::uint64_t>(ms);
}

void RuntimeCore::advance_virtual_ticks(std::uint64_t tick) noexcept {
    std::uint64_t current = virtual_elapsed_ms_.load(memory_order_relaxed);
    while (current < tick &&
           !virtual_elapsed_ms_.compare_exchange_weak(current, tick, memory_order_acq_rel, memory_order_relaxed)) {
    }
}

void RuntimeCore::abandon_queued_tasks() {
    // Destroying a frame may wake or release other tasks; those arrive through the
    // injection queue (no worker runs now), so loop until nothing is left anywhere.
    // Sleeping tasks are reached through the timer wheels, I/O waiters through the I/O drivers.
    std::vector<std::string> stragglers;
    for (;;) {
        bool any = false;
        for (auto& worker : workers_)
            worker->drain([&](TaskHeader* task) {
                any = true;
                abandon_task(task, &stragglers);
            });
        TaskHeader* task = nullptr;
        while (injection_.try_dequeue(task)) {
            any = true;
            injected_.fetch_sub(1, memory_order_relaxed);
            abandon_task(task, &stragglers);
        }
        if (any) continue;
        // Tasks waiting on sockets are reached through the I/O drivers.
        for (auto& worker : workers_) any |= worker->drain_io_waiters(stragglers);
        if (any) continue;
        for (auto& worker : workers_) any |= worker->drain_timers(stragglers);
        if (!any) break;
    }
    // Tasks still parked in sync primitives are linked into them, so they cannot be destroyed
    // here; they are named and stay suspended (their frames are not freed).
    const ParkedWaitList::Visit name{.runtime = this,
                                     .each =
                                         [](const Waker& waker, void* names) noexcept {
                                             name_straggler(innermost_task(waker.task),
                                                            *static_cast<std::vector<std::string>*>(names));
                                         },
                                     .context = &stragglers};
    visit_parked_waits(name);
    log_stragglers(stragglers);
}

// Debug mode: the tasks still alive when the shutdown begins (it cancels them next).
void RuntimeCore::log_alive_tasks() const noexcept {
    try {
        RuntimeDump dump = collect_dump(const_cast<RuntimeCore&>(*this));
        // (Not the running ones: block_on's task is still returning when its caller shuts the
        // runtime down, and a task stuck running is the watchdog's to name.)
        std::erase_if(dump.tasks, [](const DumpedTask& task) { return task.state == "running"; });
        if (dump.tasks.empty()) return;
        spdlog::warn("weft debug: runtime '{}' is shutting down with {} task(s) alive (cancelling them now):\n{}",
                     options_.name, dump.tasks.size(), dump.table());
    } catch (...) {
    }
}

void RuntimeCore::log_stragglers(const std::vector<std::string>& stragglers) const noexcept {
    if (stragglers.empty()) return;
    try {
        constexpr std::size_t kNamed = 32;
        std::string names;
        for (std::size_t i = 0; i < stragglers.size() && i < kNamed; ++i) {
            if (i) names += ", ";
            names += stragglers[i];
        }
        if (stragglers.size() > kNamed) names += fmt::format(" and {} more", stragglers.size() - kNamed);
        spdlog::warn("weft: runtime '{}' shut down with {} task(s) still alive after the {} ms grace period "
                     "(they ignored their cancellation, or wait on what nobody will complete); destroyed "
                     "unfinished: {}",
                     options_.name, stragglers.size(), options_.shutdown_grace.count(), names);
    } catch (...) {
        // logging must not fail shutdown
    }
}

void RuntimeCore::inject(TaskHeader* task) {
    if (!injection_.enqueue(task)) throw std::bad_alloc();
    injected_.fetch_add(1, memory_order_seq_cst);
    notify_work();
}

void RuntimeCore::inject_batch(TaskHeader** tasks, std::size_t count, moodycamel::ProducerToken& token) {
    if (count == 0) return;
    if (!injection_.enqueue_bulk(token, tasks, count)) throw std::bad_alloc();
    injected_.fetch_add(static_cast<std::int64_t>(count), memory_order_seq_cst);
}

TaskHeader* RuntimeCore::take_injected(moodycamel::ConsumerToken& token, Worker& into) {
    if (injected_.load(memory_order_relaxed) <= 0) return nullptr;
    // Take a fair share, at most half a local queue: run one, queue the rest locally.
    TaskHeader* batch[LocalQueue::kCapacity / 2];
    std::size_t want = static_cast<std::size_t>(injected_.load(memory_order_relaxed)) / worker_count() + 1;
    want = std::min(want, std::size(batch));
    std::size_t got = injection_.try_dequeue_bulk(token, batch, want);
    if (got == 0) return nullptr;
    injected_.fetch_sub(static_cast<std::int64_t>(got), memory_order_relaxed);
    for (std::size_t i = got; i-- > 1;) into.push_local(batch[i]);
    if (got > 1) notify_work();
    return batch[0];
}

bool RuntimeCore::any_stealable_work() const noexcept {
    for (const auto& worker : workers_)
        if (!worker->queue().looks_empty()) return true;
    return false;
}

void RuntimeCore::notify_work() noexcept {
    // Every producer made its work visible with a seq_cst store or RMW (local queue
    // push, injected_ increment), so these seq_cst loads complete the Dekker pair.
    if (idle_.searching.load(memory_order_seq_cst) != 0) return;
    if (idle_.sleeping.load(memory_order_seq_cst) == 0) return;
    wake_one_sleeper();
}

void RuntimeCore::wake_one_sleeper() noexcept {
    unsigned n = worker_count();
    unsigned start = wake_cursor_.fetch_add(1, memory_order_relaxed);
    for (unsigned i = 0; i < n; ++i) {
        Worker& worker = *workers_[(start + i) % n];
        if (worker.try_claim_parked()) {
            // Counted as searching before it runs, so concurrent producers don't wake more.
            idle_.searching.fetch_add(1, memory_order_seq_cst);
            idle_.sleeping.fetch_sub(1, memory_order_seq_cst);
            worker.unpark();
            return;
        }
    }
}

void RuntimeCore::publish_on_next_pushes() noexcept {
    for (auto& worker : workers_) worker->queue().publish_on_next_push();
}

}  // namespace weft::detail
