// The scheduler seam for tasks: wake, release, launch (see task_header.hpp).
#include <weft/detail/task_header.hpp>

#include <spdlog/spdlog.h>

#include <exception>
#include <thread>
#include <vector>

#include <weft/current_task.hpp>
#include <weft/task.hpp>
#include <weft/detail/context.hpp>
#include <weft/detail/fork_join.hpp>
#include <weft/error.hpp>
#include <weft/spawn.hpp>
#include <weft/timeout.hpp>
#include <weft/yield.hpp>

#include "runtime_core.hpp"
#include "worker.hpp"

namespace weft::detail {

namespace ts = task_state;

namespace {

// Task ids come from a global counter in blocks, so spawning does not contend on it.
std::uint64_t next_task_id() noexcept {
    static Atomic<std::uint64_t> next_block{1};
    constexpr std::uint64_t kBlock = 1024;
    thread_local std::uint64_t next = 0;
    thread_local std::uint64_t limit = 0;
    if (next == limit) {
        next = next_block.fetch_add(kBlock, memory_order_relaxed);
        limit = next + kBlock;
    }
    return next++;
}

}  // namespace

TaskExtras& TaskHeader::extras() const noexcept {
    TaskExtras* extras = extras_.load(memory_order_acquire);
    if (extras) return *extras;
    auto* fresh = new TaskExtras();  // (out of memory here terminates: id() is noexcept)
    if (extras_.compare_exchange_strong(extras, fresh, memory_order_acq_rel, memory_order_acquire)) return *fresh;
    delete fresh;  // another thread asked at the same moment and installed its own first
    return *extras;
}

void TaskHeader::set_name(std::string_view name) { extras().name = name; }

std::uint64_t TaskHeader::id() const noexcept {
    TaskExtras& extras = this->extras();
    std::uint64_t value = extras.id.load(memory_order_acquire);
    if (value != 0) return value;
    std::uint64_t fresh = next_task_id();
    if (extras.id.compare_exchange_strong(value, fresh, memory_order_acq_rel, memory_order_acquire)) return fresh;
    return value;  // another thread asked at the same moment and named it first
}

namespace {

void schedule(TaskHeader* task) {
    Worker* worker = tls_context.worker;
    if (worker && &worker->core() == task->runtime) {
        worker->schedule_woken(task);
    } else {
        task->runtime->inject(task);
    }
}

void schedule_or_die(TaskHeader* task) noexcept {
    try {
        schedule(task);
    } catch (...) {
        spdlog::critical("weft: out of memory while scheduling task {}", task->id());
        std::terminate();
    }
}

}  // namespace

void log_unobserved_failure(TaskHeader* task) noexcept {
    try {
        std::rethrow_exception(task->exception);
    } catch (const std::exception& e) {
        spdlog::error("weft: task {} '{}' failed and nobody awaited it: {}", task->id(), task->name_view(), e.what());
    } catch (...) {
        spdlog::error("weft: task {} '{}' failed with a non-std exception and nobody awaited it", task->id(),
                      task->name_view());
    }
}

void wake(Waker waker) noexcept {
    TaskHeader* task = waker.task;
    std::uint64_t state = task->state.load(memory_order_relaxed);
    for (;;) {
        if (ts::epoch_of(state) != waker.epoch) return;  // that suspension is over
        if (state & (ts::kScheduled | ts::kNotified | ts::kComplete)) return;
        std::uint64_t next = (state & ts::kRunning) ? (state | ts::kNotified)
                                                    : ((state | ts::kScheduled) & ~ts::kWaitCancellable);
        if (task->state.compare_exchange_weak(state, next, memory_order_acq_rel, memory_order_relaxed)) {
            if (next & ts::kScheduled) schedule_or_die(task);
            return;
        }
    }
}

Waker prepare_cancellable_suspend(TaskHeader* self, std::coroutine_handle<> awaiting) noexcept {
    self->resume_point = awaiting;
    tls_context.cancellable_suspend = true;
    return Waker{self, ts::epoch_of(self->state.load(memory_order_relaxed))};
}

void cancellable_suspend_withdrawn() noexcept { tls_context.cancellable_suspend = false; }

bool request_cancel(TaskHeader* task, std::uint32_t bit) noexcept {
    // A child running inline inside another task's join suspends as that task: the
    // request goes to the host, whose pending await (inside the child) then throws.
    if (task->join_waiter.load(memory_order_acquire) == kJoinClosed) return false;
    if (TaskHeader* host = task->inline_host.load(memory_order_acquire)) return request_cancel(host, bit);
    // Request first, then look at the state word: a task idle in a cancellable wait is
    // scheduled now; a scheduled or running one is poked, so that its worker's suspend
    // CAS (which reads the poke atomically) re-queues it instead of letting it sleep.
    // Always an RMW, even when nothing changes: it reads the latest state, and a worker
    // that later starts the task (an RMW on the same word) then sees our bit.
    if (task->cancel_bits.fetch_or(bit, memory_order_acq_rel) & ts::kOutcomeDecided) return false;
    std::uint64_t state = task->state.load(memory_order_relaxed);
    std::uint64_t next;
    do {
        if (state & ts::kComplete) return true;
        if (state & (ts::kScheduled | ts::kRunning)) {
            next = state | ts::kCancelPoke;
        } else if (state & ts::kWaitCancellable) {
            next = (state | ts::kScheduled) & ~ts::kWaitCancellable;
        } else {
            next = state;  // idle in a wait cancellation may not end: delivered at the next one
        }
    } while (!task->state.compare_exchange_weak(state, next, memory_order_acq_rel, memory_order_relaxed));
    if ((next & ts::kScheduled) && !(state & (ts::kScheduled | ts::kRunning))) schedule_or_die(task);
    return true;
}

bool request_shutdown_cancel(TaskHeader* task) noexcept {
    if (task->state.fetch_or(ts::kShutdownCancelled, memory_order_acq_rel) & ts::kShutdownCancelled) return false;
    return request_cancel(task, ts::kCancelRequested);
}

void throw_if_cancelled(TaskHeader* task) {
    std::uint32_t bits = task->cancel_bits.load(memory_order_acquire);
    if (!(bits & ts::kCancelBits)) return;  // (kOutcomeDecided alone: nothing to deliver)
    // A cancel() from outside comes first and stays a CancelledError; an expired timeout
    // scope's bit stays set and raises at the next await (timeout.cpp).
    if (bits & ts::kCancelRequested) {
        task->cancel_bits.fetch_and(~ts::kCancelRequested, memory_order_acq_rel);
        throw CancelledError();
    }
    TimeoutScopes::throw_expired(task);
}

std::uintptr_t wait_closed(const TaskHeader* task) noexcept {
    std::uintptr_t value = task->join_waiter.load(memory_order_acquire);
    while (value == kJoinClosing) {  // the completer is a few instructions from kJoinClosed
        std::this_thread::yield();
        value = task->join_waiter.load(memory_order_acquire);
    }
    return value;
}

void release_handle(TaskHeader* task) noexcept {
    std::uintptr_t value = task->join_waiter.load(memory_order_acquire);
    for (;;) {
        if (value == kJoinClosing) value = wait_closed(task);
        if (value == kJoinClosed) {
            destroy_task(task);
            return;
        }
        // Nobody can be observing it: observers hold the handle. The completer frees it.
        if (task->join_waiter.compare_exchange_weak(value, kDetached, memory_order_acq_rel, memory_order_acquire))
            return;
    }
}

std::uintptr_t begin_close(TaskHeader* task) noexcept {
    std::uintptr_t value = task->join_waiter.load(memory_order_acquire);
    for (;;) {
        if (value == kDetached) return value;  // terminal: nobody else will look at it
        // Nobody to notify (a registering joiner will find it closed): closed at once.
        std::uintptr_t next = (value == kNoJoiner || value == kJoinRegistering) ? kJoinClosed : kJoinClosing;
        if (task->join_waiter.compare_exchange_weak(value, next, memory_order_acq_rel, memory_order_acquire))
            return value;
    }
}

void close_join(TaskHeader* task) noexcept {
    std::uintptr_t observer = begin_close(task);
    if (observer == kDetached) {
        destroy_task(task);
    } else if (observer > kLastJoinMarker) {
        notify_joiner(task, observer);
        task->join_waiter.store(kJoinClosed, memory_order_release);  // the handle owns the frame now
    }
}

namespace {
[[gnu::noinline, noreturn]] void refuse_launch(std::coroutine_handle<> root) {
    root.destroy();
    throw RuntimeShutDown("spawn on a runtime that has shut down");
}
[[gnu::noinline]] void name_task(TaskHeader* task, std::string_view name) { task->set_name(name); }

// A task spawned while the runtime drains is not one of those its shutdown cancels.
std::uint64_t spawned_state(const RuntimeCore* runtime) noexcept {
    return runtime->draining() ? ts::kScheduled | ts::kShutdownCancelled : ts::kScheduled;
}
}  // namespace

void push_spawned_slow(TaskHeader* task) {
    if (task->runtime->stopping()) refuse_launch(task->root);
    task->state.store(spawned_state(task->runtime), memory_order_relaxed);  // (not published yet)
    tls_context.worker->push_spawned(task);
}

void launch(RuntimeCore* runtime, TaskHeader* task, std::coroutine_handle<> root, std::string_view name) {
    if (runtime->stopping()) [[unlikely]]
        refuse_launch(root);
    task->root = root;  // (its first resume starts here: resume_point is set when it suspends)
    task->runtime = runtime;
    if (!name.empty()) [[unlikely]]
        name_task(task, name);
    task->state.store(spawned_state(runtime), memory_order_relaxed);
    Worker* worker = tls_context.worker;
    if (worker && &worker->core() == runtime) {
        worker->push_spawned(task);
    } else {
        runtime->inject(task);
    }
}

void launch_last(RuntimeCore* runtime, TaskHeader* task, std::coroutine_handle<> root, std::string_view name) {
    Worker* worker = tls_context.worker;
    if (!worker || &worker->core() != runtime) {
        launch(runtime, task, root, name);
        return;
    }
    if (runtime->stopping()) [[unlikely]]
        refuse_launch(root);
    task->root = root;
    task->runtime = runtime;
    if (!name.empty()) name_task(task, name);
    task->state.store(spawned_state(runtime), memory_order_relaxed);
    worker->push_last(task);
}

TaskHeader* current_task_or_throw(const char* what) {
    TaskHeader* task = tls_context.task;
    if (!task) throw UsageError(std::string(what) + " used outside a weft task");
    return task;
}

TaskHeader* tls_task() noexcept { return tls_context.task; }

bool join_suspend(TaskHeader* target, std::coroutine_handle<> awaiting, TaskHeader* self) {
    if (cancel_pending(self)) return false;  // await_resume delivers it
    // Claim the slot first, then write join_epoch, then publish ourselves: a second
    // awaiter is refused without touching the first one's epoch.
    std::uintptr_t expected = kNoJoiner;
    if (!target->join_waiter.compare_exchange_strong(expected, kJoinRegistering, memory_order_acq_rel,
                                                     memory_order_acquire)) {
        if (expected == kJoinClosed) return false;
        throw UsageError("a task is already awaiting this JoinHandle");
    }
    Waker waker = prepare_cancellable_suspend(self, awaiting);
    target->join_epoch = waker.epoch;
    expected = kJoinRegistering;
    if (target->join_waiter.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(self),
                                                    memory_order_acq_rel, memory_order_acquire))
        return true;
    cancellable_suspend_withdrawn();  // it finished meanwhile (the completer saw kJoinRegistering)
    return false;
}

void join_cancelled(TaskHeader* target, bool propagate) {
    TaskHeader* self = current_task_or_throw("co_await on a JoinHandle");
    std::uintptr_t expected = reinterpret_cast<std::uintptr_t>(self);
    if (!target->join_waiter.compare_exchange_strong(expected, kNoJoiner, memory_order_acq_rel,
                                                     memory_order_acquire) &&
        expected != kNoJoiner) {
        // The target finished while we were being cancelled: its completer may still be
        // inside wake(self); wait for it to let go, then hand back the result.
        wait_closed(target);
        return;
    }
    // Withdrawn, or never registered (join_suspend saw our cancellation first): the target
    // is still running, so its result must not be taken (nor its frame freed) here.
    if (propagate) request_cancel(target, ts::kCancelRequested);
    throw_if_cancelled(self);
    throw Error("weft internal error: a join resumed with neither completion nor cancellation");
}

std::coroutine_handle<> join_try_inline_newest(TaskHeader* target, std::coroutine_handle<> awaiting,
                                               TaskHeader*& outer) noexcept {
    ThreadContext& context = tls_context;
    if (!context.worker->take_newest_for_inline(target)) return {};
    return join_claim_inlined(context, target, awaiting, outer);
}

void requeue_not_inlinable(TaskHeader* target) noexcept { tls_context.worker->push_local(target); }

void note_inlined_failure(TaskHeader* target) noexcept {
    target->cancelled = Worker::is_cancellation(target->exception);
}

TaskHeader* innermost_task(TaskHeader* running) noexcept {
    return running->inline_innermost ? running->inline_innermost : running;
}

void join_abandon_inlined(TaskHeader* target, TaskHeader* outer) noexcept {
    TaskHeader* host = target->inline_host.load(memory_order_relaxed);  // ours: no other writer
    target->inline_host.store(nullptr, memory_order_release);
    // (At shutdown frames go outermost first, while the host's frame is still being
    // destroyed: the host is still there.)
    if (host) host->inline_innermost = outer;
    target->exception = std::make_exception_ptr(RuntimeShutDown("the runtime shut down before the task finished"));
    target->result_taken = true;
    target->cancelled = true;
    target->join_waiter.store(kJoinClosed, memory_order_release);  // the JoinHandle frees it
}

bool listen(TaskHeader* task, CompletionListener* listener) {
    std::uintptr_t expected = kNoJoiner;
    auto tagged = reinterpret_cast<std::uintptr_t>(listener) | kListenerTag;
    if (task->join_waiter.compare_exchange_strong(expected, tagged, memory_order_acq_rel, memory_order_acquire))
        return true;
    if (expected == kJoinClosed) return false;
    throw UsageError("this task is already being awaited or watched: a JoinHandle has one observer at a time");
}

void unlisten(TaskHeader* task, CompletionListener* listener) noexcept {
    std::uintptr_t expected = reinterpret_cast<std::uintptr_t>(listener) | kListenerTag;
    if (task->join_waiter.compare_exchange_strong(expected, kNoJoiner, memory_order_acq_rel, memory_order_acquire))
        return;
    wait_closed(task);
}

void notify_joiner(TaskHeader* task, std::uintptr_t joiner) noexcept {
    if (joiner & kListenerTag) {
        reinterpret_cast<CompletionListener*>(joiner & ~kListenerTag)->on_complete();
    } else {
        wake(Waker{reinterpret_cast<TaskHeader*>(joiner), task->join_epoch});
    }
}

namespace {
void name_straggler(const TaskHeader* task, std::vector<std::string>& stragglers) noexcept {
    try {
        std::string_view name = task->name_view();
        stragglers.push_back(name.empty() ? fmt::format("task {}", task->id())
                                          : fmt::format("task {} '{}'", task->id(), name));
    } catch (...) {
        // naming must not fail shutdown
    }
}
}  // namespace

void abandon_task(TaskHeader* task, std::vector<std::string>* stragglers) noexcept {
    std::vector<TaskHeader*> pending{task};
    while (!pending.empty()) {
        TaskHeader* current = pending.back();
        pending.pop_back();
        if (stragglers) name_straggler(current, *stragglers);
        current->exception = std::make_exception_ptr(RuntimeShutDown("the runtime shut down before the task finished"));
        current->result_taken = true;  // not a failure of the task's own: don't log it
        current->cancelled = true;
        current->state.fetch_or(ts::kComplete, memory_order_acq_rel);
        std::uintptr_t observer = begin_close(current);
        if (observer == kDetached) {
            destroy_task(current);
            continue;
        }
        if (observer <= kLastJoinMarker) continue;
        if (observer & kListenerTag) {
            notify_joiner(current, observer);
        } else {
            // No worker runs any more, so the joiner is idle: take it over and abandon it too.
            auto* waiting = reinterpret_cast<TaskHeader*>(observer);
            std::uint64_t state = waiting->state.load(memory_order_acquire);
            if (!(state & (ts::kScheduled | ts::kComplete)) &&
                waiting->state.compare_exchange_strong(state, state | ts::kScheduled, memory_order_acq_rel))
                pending.push_back(waiting);
        }
        current->join_waiter.store(kJoinClosed, memory_order_release);
    }
}

RuntimeCore* current_runtime_or_throw(const char* what) {
    Worker* worker = tls_context.worker;
    if (!worker) throw UsageError(std::string(what) + ": called outside a weft runtime");
    return &worker->core();
}

bool current_runtime_shutting_down() noexcept {
    Worker* worker = tls_context.worker;
    return worker && worker->core().phase() != RuntimeCore::kRunning;
}

void begin_current_runtime_shutdown() noexcept {
    if (Worker* worker = tls_context.worker) worker->core().begin_drain();
}

bool on_worker_of(const RuntimeCore& runtime) noexcept {
    Worker* worker = tls_context.worker;
    return worker && &worker->core() == &runtime;
}

void yield_suspend(std::coroutine_handle<> awaiting) {
    TaskHeader* task = current_task_or_throw("weft::yield_now()");
    task->resume_point = awaiting;
    tls_context.worker->request_yield();
}

void coop_yield_suspend(std::coroutine_handle<> awaiting) {
    TaskHeader* task = current_task_or_throw("weft: the cooperative budget");
    task->resume_point = awaiting;
    tls_context.worker->request_coop_yield();
}

void yield_resume() {
    if (TaskHeader* task = tls_context.task) throw_if_cancelled(task);
}

}  // namespace weft::detail

