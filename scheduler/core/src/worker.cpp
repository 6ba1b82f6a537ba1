#include "worker.hpp"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <thread>

#include <weft/detail/context.hpp>
#include <weft/detail/frame_allocator.hpp>
#include <weft/detail/task_transitions.hpp>
#include <weft/error.hpp>

#include "cpu_affinity.hpp"
#include "done_callbacks.hpp"
#include "runtime_core.hpp"

namespace weft::detail {

namespace ts = task_state;

Worker::Worker(RuntimeCore& core, unsigned index)
    : core_(core),
      index_(index),
      rng_(0x9E3779B97F4A7C15ull * (index + 1)),
      timers_(core.now_ticks()),
      driver_(make_io_driver()),
      producer_token_(core.injection()),
      consumer_token_(core.injection()) {
    next_round_.reserve(64);
    loop_wakes_.reserve(64);
    if (core.options().task_registry) {
        trace_ = std::make_unique<WorkerTrace>();
        trace_->index = index;
        if (core.options().debug)
            trace_->slow_ns = static_cast<std::uint64_t>(std::chrono::nanoseconds(core.options().slow_resume).count());
    }
    if (core.options().metrics_poll_histogram) poll_times_ = std::make_unique<PollTimeCounters>();
    instrumented_ = trace_ || poll_times_;
}

void Worker::run() {
    std::string name = core_.options().name + "-" + std::to_string(index_);
    ::pthread_setname_np(::pthread_self(), name.substr(0, 15).c_str());
    tls_context.worker = this;
    tls_context.runtime = &core_;
    tls_context.queue = &queue_;
    if (int cpu = core_.worker_cpu(index_); cpu >= 0 && !pin_this_thread(cpu))
        spdlog::warn("weft: worker {} cannot be pinned to CPU {}; it runs unpinned", name, cpu);
    frames::prepare_this_thread();  // after pinning: its slab is touched on this worker's CPU
    metrics_.started_ns.set(metrics_clock_ns());
    core_.worker_ready();
    run_loop<false>();
    if (core_.draining()) {  // the shutdown protocol's step 1 (runtime_core.cpp)
        loop_phase_ = RuntimeCore::kDraining;
        cancel_for_shutdown();
        run_loop<true>();
    }
    if (searching_) transition_from_searching();
    tls_context = ThreadContext{};
}

// The running loop and the draining one are the same loop; the draining one also cancels
// each task alive before the drain when it next runs it (run_task<true>).
template <bool Draining>
void Worker::run_loop() {
    constexpr auto phase = Draining ? RuntimeCore::kDraining : RuntimeCore::kRunning;
    while (core_.phase() == phase) {
        if (TaskHeader* task = next_task()) {
            // Found work (maybe right after a waker counted us as searching): stop
            // counting as a searcher, or producers would never wake anyone else.
            if (searching_) transition_from_searching();
            if (starting_) [[unlikely]]
                leave_starting();
            run_task<Draining>(task);
            continue;
        }
        fire_due_timers();
        poll_io();
        if (lifo_ || !queue_.owner_empty()) continue;
        if (TaskHeader* stolen = search()) {
            run_task<Draining>(stolen);
        } else {
            park();
        }
    }
}

// ---- where the next task comes from -------------------------------------------------

TaskHeader* Worker::next_task() {
    if (--fairness_countdown_ == 0) {
        fairness_countdown_ = kFairnessInterval;
        fire_due_timers();
        poll_io();
        if (TaskHeader* injected = take_injected()) return injected;
    }
    if (lifo_ && lifo_streak_ < kMaxLifoStreak) {
        ++lifo_streak_;
        metrics_.lifo_hits.add();
        return std::exchange(lifo_, nullptr);
    }
    lifo_streak_ = 0;
    if (queue_.split_requested()) [[unlikely]] {  // a thief found our public part empty
        if (queue_.publish_requested()) core_.notify_work();
    }
    if (TaskHeader* task = queue_.pop()) return task;
    if (lifo_) {
        metrics_.lifo_hits.add();
        return std::exchange(lifo_, nullptr);
    }
    if (TaskHeader* task = take_next_round()) return task;
    return take_injected();
}

TaskHeader* Worker::take_injected() {
    TaskHeader* task = core_.take_injected(consumer_token_, *this);
    if (task) metrics_.injected_taken.add();
    return task;
}

// Yielded tasks run in rounds: a batch moves to the (stealable) queue once it is empty,
// pushed in reverse so that they run in the order they yielded.
TaskHeader* Worker::take_next_round() {
    std::size_t pending = next_round_.size() - next_round_head_;
    if (pending == 0) return nullptr;
    std::size_t batch = std::min<std::size_t>(pending, LocalQueue::kCapacity / 2);
    for (std::size_t i = batch; i-- > 1;) push_local(next_round_[next_round_head_ + i]);
    TaskHeader* first = next_round_[next_round_head_];
    next_round_head_ += batch;
    if (next_round_head_ == next_round_.size()) {
        next_round_.clear();
        next_round_head_ = 0;
    } else if (next_round_head_ > next_round_.size() / 2) {
        next_round_.erase(next_round_.begin(), next_round_.begin() + static_cast<std::ptrdiff_t>(next_round_head_));
        next_round_head_ = 0;
    }
    return first;
}

TaskHeader* Worker::search() {
    if (!transition_to_searching()) return nullptr;
    unsigned n = core_.worker_count();
    for (int round = 0; round < kSearchRounds; ++round) {
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 7;
        rng_ ^= rng_ << 17;
        unsigned start = static_cast<unsigned>(rng_ % n);
        for (unsigned i = 0; i < n; ++i) {
            Worker& victim = core_.worker((start + i) % n);
            if (&victim == this) continue;
            if (TaskHeader* task = steal_from(victim)) {
                metrics_.steals.add();
                transition_from_searching();
                return task;
            }
        }
        if (TaskHeader* task = take_injected()) {
            transition_from_searching();
            return task;
        }
        std::this_thread::yield();
    }
    return nullptr;  // still searching: park() leaves that state
}

// Takes half of the victim's queue (one CAS per task: see local_queue.hpp). Returns the
// first task to run now and keeps the rest on this worker's queue.
TaskHeader* Worker::steal_from(Worker& victim) {
    metrics_.steal_attempts.add();
    std::int64_t want = std::max<std::int64_t>(1, victim.queue_.size() / 2);
    TaskHeader* first = nullptr;
    std::int64_t taken = 0;
    while (taken < want) {
        TaskHeader* task = nullptr;
        auto result = victim.queue_.steal_one(task);
        if (result == LocalQueue::StealResult::kEmpty) break;
        if (result == LocalQueue::StealResult::kLost) continue;
        ++taken;
        if (!first) {
            first = task;
        } else {
            push_local(task);  // wakes another worker if it makes tasks stealable
        }
    }
    metrics_.tasks_stolen.add(static_cast<std::uint64_t>(taken));
    return first;
}

// ---- running a task -------------------------------------------------------------------

template <bool Draining>
void Worker::run_task(TaskHeader* task) {
    [[maybe_unused]] std::uint64_t before = transition::begin_resume(task);
    if constexpr (Draining) {
        if (!(before & ts::kShutdownCancelled)) cancel_at_resume(task);
    }
    std::coroutine_handle<> resume = task->resume_point;
    if (!task->started) {
        if ((task->cancel_bits.load(memory_order_acquire) & ts::kCancelRequested) && !task->always_start) {
            complete_unstarted(task);  // cancelled before it ever ran: its body never starts
            return;
        }
        task->started = true;
        resume = task->root;
    }
    tls_context.task = task;
    tls_context.coop_budget = kCoopBudget;
    tls_context.inline_join_budget = kInlineJoinBudget;
    metrics_.polls.add();
    hooks::resumed(task, index_);
    if (instrumented_) [[unlikely]] {
        resume_instrumented(task, resume);  // a task registry or the poll-time histogram
    } else {
        resume.resume();
    }
    tls_context.task = nullptr;

    if (task->root.done()) {
        complete(task);
        return;
    }
    hooks::suspended(task, index_);
    bool yielded = std::exchange(yield_requested_, false);
    bool coop_yield = std::exchange(coop_yield_, false);
    bool cancellable = std::exchange(tls_context.cancellable_suspend, false);
    std::uint64_t next = transition::end_resume(task, yielded, cancellable);
    if (!(next & ts::kScheduled)) return;  // idle: a waker owns the next schedule
    if (yielded) {
        if (coop_yield && ++coop_yields_ % kCoopRoundEvery != 0) {
            fairness_countdown_ = 1;  // the next pick first runs timers, I/O and injected tasks
            push_local(task);
        } else {
            next_round_.push_back(task);
        }
    } else {
        schedule_woken(task);  // woken (or cancelled) while it was still running
    }
}

void Worker::resume_instrumented(TaskHeader* task, std::coroutine_handle<> resume) noexcept {
    const std::uint64_t start = poll_times_ ? metrics_clock_ns() : 0;
    if (trace_) {
        traced_resume(*trace_, task, resume);  // the task registry (worker_trace.hpp)
    } else {
        resume.resume();
    }
    if (poll_times_) poll_times_->record(metrics_clock_ns() - start);
}

// Draining: a task alive before the drain began gets the shutdown's cancellation before it
// runs again (one never started then ends cancelled unrun, just below).
void Worker::cancel_at_resume(TaskHeader* task) noexcept {
    transition::mark_shutdown_cancelled(task);
    task->cancel_bits.fetch_or(ts::kCancelRequested, memory_order_release);
}

namespace {
// complete()'s uncommon cases, out of line so that complete() stays small enough to be inlined
// into the worker's run_task: a failure, a cancellation, done callbacks.
[[gnu::noinline]] void settle_uncommon_outcome(TaskHeader* task, std::uint32_t bits) {
    if (task->exception) {
        task->cancelled = Worker::is_cancellation(task->exception);
    } else if (bits & ts::kCancelRequested) {
        task->exception = cancelled_error_for(task);
        task->cancelled = true;
    }
    if (bits & ts::kDoneCallbacks)
        run_done_callbacks(task);  // (before close_join: the handle may free the frame after it)
}
}  // namespace

void Worker::complete(TaskHeader* task) {
    // The outcome is decided here against request_cancel() by one RMW on the bits. asyncio's
    // `_must_cancel`: a task cancelled while it ran that returned without another await (or
    // without catching the CancelledError) ends cancelled; a cancel() after this returns false.
    std::uint32_t bits = task->cancel_bits.fetch_or(ts::kOutcomeDecided, memory_order_acq_rel);
    if (task->exception || (bits & (ts::kCancelRequested | ts::kDoneCallbacks))) [[unlikely]]
        settle_uncommon_outcome(task, bits);
    finish(task);
}

void Worker::complete_unstarted(TaskHeader* task) {
    task->exception = cancelled_error_for(task);
    task->cancelled = true;
    if (task->cancel_bits.fetch_or(ts::kOutcomeDecided, memory_order_acq_rel) & ts::kDoneCallbacks)
        run_done_callbacks(task);
    finish(task);
}

void Worker::finish(TaskHeader* task) {
    hooks::finished(task);  // (before close_join: that may free the frame)
    // The state word stays "running": no waker can hold the current epoch any more, and
    // request_cancel() looks at join_waiter. One CAS in close_join is the whole cost.
    close_join(task);
}

bool Worker::is_cancellation(const std::exception_ptr& error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const TimeoutError&) {
        return false;  // a deadline the task's own code let escape: a failure, not a cancel()
    } catch (const CancelledError&) {
        return true;
    } catch (...) {
        return false;
    }
}

// ---- placing tasks -----------------------------------------------------------------------

void Worker::spill_and_push(TaskHeader* task) {
    // Full: move the older half to the injection queue, where any worker can take it.
    queue_.publish_all();
    TaskHeader* spill[LocalQueue::kCapacity / 2];
    std::size_t count = 0;
    while (count < std::size(spill)) {
        TaskHeader* oldest = nullptr;
        auto result = queue_.steal_one(oldest);
        if (result == LocalQueue::StealResult::kEmpty) break;
        if (result == LocalQueue::StealResult::kTaken) spill[count++] = oldest;
    }
    core_.inject_batch(spill, count, producer_token_);
    if (queue_.push(task, true) == LocalQueue::Push::kFull) core_.inject_batch(&task, 1, producer_token_);
    core_.notify_work();
}

bool Worker::take_newest_for_inline(TaskHeader* task) noexcept {
    TaskHeader* newest = queue_.pop();  // the private part is empty: race the stealers
    if (newest == task) return true;
    if (newest) push_local(newest);  // cannot spill: it just left that slot
    return false;
}

// Private (no fence, no wake-up) while every worker is busy and this one still offers
// stealable tasks; published, and a worker woken, when some worker is idle: a task that
// then blocks its thread does not hold back what it spawned.
void Worker::push_local(TaskHeader* task) {
    LocalQueue::Push pushed = queue_.push(task, core_.has_idle_workers());
    if (pushed == LocalQueue::Push::kPrivate) [[likely]]
        return;
    if (pushed == LocalQueue::Push::kPublished) {
        core_.notify_work();
    } else {
        spill_and_push(task);
    }
}

// The inline spawn (fork_join.hpp) found the limit reached: the full push, then let the
// next spawns go private again if nothing asks for a publish.
void Worker::push_spawned(TaskHeader* task) {
    push_local(task);
    if (queue_.allow_private_pushes(core_.has_idle_workers())) confirm_private_pushes();
}

// allow_private_pushes() let the inline push go private again; a worker that went idle,
// a thief, or shutdown may have poked the limit between its look and its store. Look again
// after a fence (pokers write their reason with seq_cst, then read the limit with
// seq_cst): either we see the reason, or the poker sees the raised limit and lowers it.
void Worker::confirm_private_pushes() noexcept {
    fence_seq_cst();
    if (core_.has_idle_workers() || queue_.wants_publish()) queue_.publish_on_next_push();
}

void Worker::schedule_woken(TaskHeader* task) {
    if (collecting_loop_wakes_) [[unlikely]] {
        loop_wakes_.push_back(task);
        return;
    }
    if (TaskHeader* previous = std::exchange(lifo_, task)) push_local(previous);
}

// While the loop delivers timers or socket readiness, the tasks it wakes are collected, then
// placed in the order they were woken, as asyncio's ready queue runs them (sleepers due on
// the same tick wake in the order they went to sleep). One by one they would run newest
// first: each takes the LIFO slot and pushes the one before onto the queue, which pops newest
// first. So they are placed newest first instead: the first woken ends in the LIFO slot, and
// the rest pop in order after it. As many as the queue has room for go there (a full queue
// would spill its oldest, the last woken, to the injection queue); the rest go to the back of
// the round, in order, after them.
class Worker::LoopWakes {
public:
    explicit LoopWakes(Worker& worker) noexcept : worker_(worker) { worker_.collecting_loop_wakes_ = true; }
    ~LoopWakes() {
        worker_.collecting_loop_wakes_ = false;
        std::vector<TaskHeader*>& woken = worker_.loop_wakes_;
        if (woken.empty()) return;
        // schedule_woken pushes one task per call but the first, and one more if the LIFO
        // slot is taken.
        std::int64_t room = worker_.queue_.room() + 1 - (worker_.lifo_ ? 1 : 0);
        std::size_t here = room > 0 ? std::min(woken.size(), static_cast<std::size_t>(room)) : 0;
        for (std::size_t i = here; i < woken.size(); ++i) worker_.push_last(woken[i]);
        for (std::size_t i = here; i-- > 0;) worker_.schedule_woken(woken[i]);
        woken.clear();
    }
    LoopWakes(const LoopWakes&) = delete;
    LoopWakes& operator=(const LoopWakes&) = delete;

private:
    Worker& worker_;
};

// ---- searching and parking ----------------------------------------------------------------

bool Worker::transition_to_searching() noexcept {
    if (searching_) return true;
    // At most half of the workers search at once (at least one).
    std::uint32_t limit = std::max(1u, core_.worker_count() / 2);
    std::uint32_t current = core_.idle().searching.load(memory_order_relaxed);
    do {
        if (current >= limit) return false;
    } while (!core_.idle().searching.compare_exchange_weak(current, current + 1, memory_order_seq_cst,
                                                           memory_order_relaxed));
    searching_ = true;
    core_.publish_on_next_pushes();
    if (starting_) leave_starting();
    return true;
}

void Worker::leave_starting() noexcept {
    starting_ = false;
    core_.idle().starting.fetch_sub(1, memory_order_relaxed);
}

void Worker::transition_from_searching() noexcept {
    searching_ = false;
    // The last searcher to find work wakes another worker: there may be more to find.
    if (core_.idle().searching.fetch_sub(1, memory_order_seq_cst) == 1) core_.notify_work();
}

bool Worker::try_claim_parked() noexcept {
    bool expected = true;
    return parked_.compare_exchange_strong(expected, false, memory_order_acq_rel, memory_order_relaxed);
}

void Worker::transition_to_parked() noexcept {
    parked_.store(true, memory_order_relaxed);
    core_.idle().sleeping.fetch_add(1, memory_order_seq_cst);
    core_.publish_on_next_pushes();
    if (starting_) leave_starting();
    if (searching_) {
        searching_ = false;
        core_.idle().searching.fetch_sub(1, memory_order_seq_cst);
    }
}

// Protocol step 2: after announcing sleep, look once more. Returns true if this worker
// should not block (work appeared, or a waker already claimed it).
bool Worker::transition_from_parked_after_recheck() noexcept {
    bool work = core_.has_injected() || core_.any_stealable_work();
    if (!work && core_.phase() == loop_phase_) return false;
    if (try_claim_parked()) core_.idle().sleeping.fetch_sub(1, memory_order_seq_cst);
    else searching_ = true;  // a waker claimed us and counted us as searching
    return true;
}

void Worker::park() {
    metrics_.parks.add();
    transition_to_parked();
    if (transition_from_parked_after_recheck()) return;
    struct CountUnpark {  // however it leaves from here on
        OwnedCounter& unparks;
        ~CountUnpark() { unparks.add(); }
    } count_unpark{metrics_.unparks};
    while (parked_.load(memory_order_acquire)) {
        int timeout_ms = park_timeout_ms();
        if (core_.phase() != loop_phase_ || timeout_ms == 0) {
            if (try_claim_parked()) core_.idle().sleeping.fetch_sub(1, memory_order_seq_cst);
            else searching_ = true;
            return;
        }
        bool quiet = false;
        if (loop_phase_ == RuntimeCore::kDraining) [[unlikely]] {
            // The shutdown waits for every worker to be quiet. A socket waiter or a timer that
            // goes away on another worker does not wake this one: look again soon.
            quiet = quiet_for_shutdown();
            if (quiet) {
                core_.worker_quiet(true);
            } else if (timeout_ms < 0 || timeout_ms > kDrainPollMs) {
                timeout_ms = kDrainPollMs;
            }
        }
        sleep_in_driver(timeout_ms);
        if (quiet) core_.worker_quiet(false);
        if (lifo_ || !queue_.owner_empty()) {  // I/O woke tasks onto this worker: run them
            if (try_claim_parked()) core_.idle().sleeping.fetch_sub(1, memory_order_seq_cst);
            else searching_ = true;
            return;
        }
    }
    searching_ = true;  // the waker counted us as searching (RuntimeCore::wake_one_sleeper)
}

// How long a parked worker may sleep: until its next timer (-1: no timer). With the
// virtual clock (one worker, so nothing else can happen) time jumps to that timer.
int Worker::park_timeout_ms() noexcept {
    free_remote_disarmed(/*parking=*/true);  // dead entries must not set the wake-up time
    std::optional<std::uint64_t> next = timers_.next_deadline();
    if (!next) return -1;
    std::uint64_t now = core_.now_ticks();
    if (*next <= now) return 0;
    if (core_.virtual_time()) {
        if (*next >= RuntimeCore::kVirtualNeverTicks) return -1;  // never: sleep until woken
        core_.advance_virtual_ticks(*next);
        return 0;
    }
    std::uint64_t wait = *next - now;
    return wait > 1'000'000 ? 1'000'000 : static_cast<int>(wait);
}

// Asleep in the driver: the time that is not busy time (metrics; a reader adds the sleep in
// progress from asleep_since_ns).
void Worker::sleep_in_driver(int timeout_ms) noexcept {
    // The clock is read inside the update: a snapshot then never has a time in hand later
    // than a sleep it does not see yet (a snapshot between the clock read and the store
    // counted that stretch as busy, and the next one as asleep: busy time went down).
    metrics_.begin_asleep_update();
    const std::uint64_t start = metrics_clock_ns();
    metrics_.asleep_since_ns.set(start);
    metrics_.end_asleep_update();
    int events = 0;
    {
        LoopWakes in_order(*this);
        events = driver_->park(timeout_ms);
    }
    metrics_.begin_asleep_update();
    const std::uint64_t end = metrics_clock_ns();
    metrics_.asleep_since_ns.set(0);
    metrics_.asleep_ns.add(end - start);
    metrics_.end_asleep_update();
    metrics_.io_events.add(static_cast<std::uint64_t>(events));
}

void Worker::poll_io() noexcept {
    if (!driver_->has_registrations()) return;
    LoopWakes in_order(*this);
    metrics_.io_events.add(static_cast<std::uint64_t>(driver_->park(0)));
}

// ---- timers ---------------------------------------------------------------------------------

void Worker::arm(TimerEntry* entry, std::uint64_t deadline_tick) noexcept {
    entry->deadline = deadline_tick;
    timers_.insert(entry);
    metrics_.timers_armed.add();
    count_timers();
}

void Worker::disarm(TimerEntry* entry) noexcept {
    if (entry->linked()) timers_.remove(entry);
    TimerEntry::destroy(entry);
    count_timers();
}

// Push, then look at parked_; park() sets parked_, then frees the list (park_timeout_ms):
// both sides' RMWs on the list order them, so either the owner sees the entry or we see it
// parked and wake it (once per batch: only the push onto an empty list).
void Worker::disarm_remote(TimerEntry* entry) noexcept {
    TimerEntry* head = remote_disarmed_.load(memory_order_relaxed);
    do {
        entry->remote_next = head;
    } while (!remote_disarmed_.compare_exchange_weak(head, entry, memory_order_acq_rel, memory_order_relaxed));
    if (!head && parked_.load(memory_order_seq_cst)) unpark();
}

bool Worker::free_remote_disarmed(bool parking) noexcept {
    // Parking: always the RMW (see disarm_remote); else a plain load keeps the loop cheap.
    if (!parking && !remote_disarmed_.load(memory_order_relaxed)) return false;
    TimerEntry* entry = remote_disarmed_.exchange(nullptr, memory_order_acq_rel);
    const bool any = entry != nullptr;
    while (entry) {
        TimerEntry* next = entry->remote_next;
        if (entry->linked()) timers_.remove(entry);  // (else the wheel already took it out)
        TimerEntry::destroy(entry);
        entry = next;
    }
    count_timers();
    return any;
}

void Worker::fire_due_timers() noexcept {
    free_remote_disarmed();
    if (timers_.empty()) return;
    LoopWakes in_order(*this);
    timers_.advance(core_.now_ticks(), [](TimerNode* node) { fire_timer(static_cast<TimerEntry*>(node)); });
    count_timers();
}

bool Worker::drain_io_waiters(std::vector<std::string>& stragglers) {
    std::vector<Waker> waiters = driver_->take_waiters();
    for (Waker waker : waiters) {
        // No worker runs any more, so the waiter is idle: take it over and abandon it
        // (as drop_timer() does for sleepers). A stale waker (epoch moved on) is skipped.
        if (transition::take_over_idle(waker)) abandon_task(waker.task, &stragglers);
    }
    return !waiters.empty();
}

bool Worker::drain_timers(std::vector<std::string>& stragglers) {
    // First: drop_timer leaves cancelled entries to this list. (Frames destroyed by the
    // drop may hand us more: the caller loops while any were found.)
    bool any = free_remote_disarmed(/*parking=*/true);
    any = !timers_.empty() || any;
    timers_.drain([&](TimerNode* node) { drop_timer(static_cast<TimerEntry*>(node), stragglers); });
    count_timers();
    return any;
}

// ---- draining (runtime_core.cpp, shutdown protocol) ---------------------------------------

void Worker::cancel_for_shutdown() {
    // Sleepers and tasks in timeout scopes, through their entries (off the wheel meanwhile).
    std::vector<TimerEntry*> entries;
    entries.reserve(timers_.size());
    timers_.drain([&](TimerNode* node) { entries.push_back(static_cast<TimerEntry*>(node)); });
    for (TimerEntry* entry : entries)
        if (shutdown_cancel_through(entry)) timers_.insert(entry);
    count_timers();
    driver_->cancel_waiters();
}

bool Worker::quiet_for_shutdown() {
    // Entries cancelled on other workers come off the wheel through the remote list (an entry
    // not pushed yet keeps us busy until the next look, kDrainPollMs later).
    free_remote_disarmed(/*parking=*/true);
    return timers_.empty() && !driver_->has_waiters();
}

// ---- ordered starts (wait) ----------------------------------------------------------------

void Worker::start_in_order(const std::vector<TaskHeader*>& tasks) {
    // Everything queued here comes out (newest first; a thief may take some meanwhile), the
    // others go back oldest first, and `tasks` found among them go last, in their order.
    std::vector<TaskHeader*> popped;
    while (TaskHeader* task = queue_.pop()) popped.push_back(task);
    if (popped.empty()) return;
    std::vector<TaskHeader*> wanted(tasks);
    std::sort(wanted.begin(), wanted.end());
    std::vector<TaskHeader*> found;
    for (std::size_t i = popped.size(); i-- > 0;) {
        if (std::binary_search(wanted.begin(), wanted.end(), popped[i])) {
            found.push_back(popped[i]);
        } else {
            push_local(popped[i]);
        }
    }
    std::sort(found.begin(), found.end());
    for (TaskHeader* task : tasks)
        if (std::binary_search(found.begin(), found.end(), task)) push_last(task);
}

}  // namespace weft::detail
