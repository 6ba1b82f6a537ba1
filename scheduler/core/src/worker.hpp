// One worker thread: an event loop with its own run queue.
//
// The loop (run()) is: next local task -> search other workers -> park. Where tasks go:
//  - spawned here:            bottom of the local queue (newest runs first; stealable once
//                             published: see local_queue.hpp)
//  - woken by this worker:    the LIFO slot, demoting its previous occupant to the queue
//  - yielded:                 the next-round list, promoted to the queue when it drains
//  - from other threads:      the runtime's injection queue
// Fairness: every kFairnessInterval ticks the worker first looks at the injection queue
// (and its timers and I/O), and the LIFO slot may win at most kMaxLifoStreak times in a
// row. The local queue is deliberately not rotated: taking its oldest task would start a
// new top-level subtree of a fork-join computation before the current one finished
// (skynet's memory grew to 800 MB that way); idle workers steal the oldest tasks instead.
#pragma once

#include <concurrentqueue/concurrentqueue.h>

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <weft/detail/io_driver.hpp>
#include <weft/detail/local_queue.hpp>
#include <weft/detail/task_hooks.hpp>

#include <memory>

#include "timer_entry.hpp"
#include "timer_wheel.hpp"
#include "worker_metrics.hpp"
#include "worker_trace.hpp"

namespace weft::detail {

class RuntimeCore;

class Worker {
public:
    Worker(RuntimeCore& core, unsigned index);

    void run();  // the thread's body

    // Called on this worker's own thread.
    void push_spawned(TaskHeader* task);
    void schedule_woken(TaskHeader* task);
    void request_yield() noexcept { yield_requested_ = true; }
    void request_coop_yield() noexcept {
        yield_requested_ = true;
        coop_yield_ = true;
    }
    // At the back of this round, first-in first-out (launch_last): runs after what is queued.
    void push_last(TaskHeader* task) { next_round_.push_back(task); }
    // wait(): those of `tasks` queued here go to the back of the round, in the given order.
    void start_in_order(const std::vector<TaskHeader*>& tasks);
    // With the private part empty: takes `task` if it is the newest (public) task.
    // (A private task is taken inline: join_try_inline in fork_join.hpp.)
    bool take_newest_for_inline(TaskHeader* task) noexcept;
    // Local queue, spilling half to the injection queue when full (see local_queue.hpp
    // for when a task becomes stealable).
    void push_local(TaskHeader* task);
    void confirm_private_pushes() noexcept;
    void arm(TimerEntry* entry, std::uint64_t deadline_tick) noexcept;
    void disarm(TimerEntry* entry) noexcept;  // a cancelled entry, unlinked and freed now

    // Called from any thread.
    // A cancelled entry of this worker's wheel: unlinked and freed at its next timer check
    // (or before it parks; a parked worker is woken for the first one).
    void disarm_remote(TimerEntry* entry) noexcept;
    std::size_t armed_timers() const noexcept { return armed_count_.load(memory_order_relaxed); }
    LocalQueue& queue() noexcept { return queue_; }
    bool try_claim_parked() noexcept;  // a waker takes this sleeper
    void unpark() noexcept { driver_->unpark(); }
    IoDriver& io_driver() noexcept { return *driver_; }
    RuntimeCore& core() noexcept { return core_; }
    unsigned index() const noexcept { return index_; }
    WorkerTrace* trace() noexcept { return trace_.get(); }  // task registry on: worker_trace.hpp
    // Metrics (worker_metrics.hpp), from any thread. poll_times(): null unless the runtime
    // times polls (RuntimeOptions::metrics_poll_histogram).
    const WorkerMetricsCounters& metrics() const noexcept { return metrics_; }
    const PollTimeCounters* poll_times() const noexcept { return poll_times_.get(); }
    std::int64_t local_queue_depth() const noexcept { return queue_.depth(); }

    // After the thread has been joined: hands out every task still queued here.
    template <class Fn>
    void drain(Fn&& fn);
    // Shutdown, the loops stopped: drop every timer / abandon every task waiting on I/O here,
    // naming the tasks abandoned; true if there were any.
    bool drain_timers(std::vector<std::string>& stragglers);
    bool drain_io_waiters(std::vector<std::string>& stragglers);

private:
    static constexpr std::uint32_t kFairnessInterval = 61;
    // A task whose budget ran out goes behind every queued task only once in this many times;
    // otherwise it keeps its place after the loop's maintenance (timers, sockets, injected).
    // A full round each time (every 128 ready awaits) made a producer-consumer queue 1.5x
    // slower (bench/queue): each one reshuffled who fills and who drains.
    static constexpr std::uint32_t kCoopRoundEvery = 32;
    static constexpr std::uint32_t kMaxLifoStreak = 3;
    static constexpr int kSearchRounds = 4;
    static constexpr int kDrainPollMs = 5;  // a draining worker that is not quiet looks again

    template <bool Draining>
    void run_loop();  // while the runtime's phase is the loop's
    TaskHeader* next_task();
    [[gnu::noinline]] void spill_and_push(TaskHeader* task);
    TaskHeader* take_next_round();
    TaskHeader* take_injected();  // from the runtime's injection queue (counted)
    TaskHeader* search();
    TaskHeader* steal_from(Worker& victim);
    template <bool Draining>
    void run_task(TaskHeader* task);
    // A registry's trace and/or the poll-time histogram around one resume (instrumented_).
    void resume_instrumented(TaskHeader* task, std::coroutine_handle<> resume) noexcept;
    void complete(TaskHeader* task);
    void complete_unstarted(TaskHeader* task);
    void finish(TaskHeader* task);

public:
    static bool is_cancellation(const std::exception_ptr& error) noexcept;

private:
    void park();
    // Draining (runtime_core.cpp, shutdown protocol): cancels the tasks this worker can
    // reach; whether it has nothing left that could run (no timer, no socket waiter).
    void cancel_for_shutdown();
    bool quiet_for_shutdown();
    void cancel_at_resume(TaskHeader* task) noexcept;
    void fire_due_timers() noexcept;
    bool free_remote_disarmed(bool parking = false) noexcept;  // true if it freed any
    void count_timers() noexcept { armed_count_.store(timers_.size(), memory_order_relaxed); }
    void poll_io() noexcept;  // non-blocking: only when something is registered
    void sleep_in_driver(int timeout_ms) noexcept;  // park()'s wait, timed for busy time
    int park_timeout_ms() noexcept;

    void leave_starting() noexcept;  // counted as searching, sleeping or busy from now on
    bool transition_to_searching() noexcept;
    void transition_from_searching() noexcept;
    void transition_to_parked() noexcept;
    bool transition_from_parked_after_recheck() noexcept;
    class LoopWakes;

    RuntimeCore& core_;
    unsigned index_;
    LocalQueue queue_;
    TaskHeader* lifo_ = nullptr;
    std::uint32_t lifo_streak_ = 0;
    std::uint32_t fairness_countdown_ = kFairnessInterval;
    bool yield_requested_ = false;
    bool coop_yield_ = false;      // that yield is the budget's (coop_yield_suspend)
    std::uint32_t coop_yields_ = 0;
    bool searching_ = false;
    bool starting_ = true;  // still counted in IdleCounts::starting
    std::uint8_t loop_phase_ = 0;  // RuntimeCore::Phase of the loop running now
    std::unique_ptr<PollTimeCounters> poll_times_;  // null: polls are not timed
    WorkerMetricsCounters metrics_;  // (written only here: beside the hot fields, not shared)
    std::vector<TaskHeader*> next_round_;
    std::size_t next_round_head_ = 0;
    // Tasks this loop itself woke (timers, sockets), collected while it delivers, then placed
    // in the order they were woken (LoopWakes in worker.cpp). Empty outside a delivery.
    std::vector<TaskHeader*> loop_wakes_;
    bool collecting_loop_wakes_ = false;
    std::uint64_t rng_;
    TimerWheel timers_;
    Atomic<std::size_t> armed_count_{0};  // timers_.size(), for armed_timer_entries()
    std::unique_ptr<IoDriver> driver_;  // epoll today (io_driver.hpp)
    alignas(kCacheLine) Atomic<bool> parked_{false};
    alignas(kCacheLine) Atomic<TimerEntry*> remote_disarmed_{nullptr};  // a stack, via remote_next
    std::unique_ptr<WorkerTrace> trace_;                // only with a task registry
    bool instrumented_ = false;                          // trace_ or poll_times_
    moodycamel::ProducerToken producer_token_;
    moodycamel::ConsumerToken consumer_token_;
};

template <class Fn>
void Worker::drain(Fn&& fn) {
    if (lifo_) fn(std::exchange(lifo_, nullptr));
    while (TaskHeader* task = queue_.pop()) fn(task);
    for (std::size_t i = next_round_head_; i < next_round_.size(); ++i) fn(next_round_[i]);
    next_round_.clear();
    next_round_head_ = 0;
}

}  // namespace weft::detail
