// The join word (TaskHeader::join_waiter): who observes a task's end, and who owns its frame.
//
// Protocol (the values are in task_header.hpp; every transition is one CAS or store on the word):
//  1. A joiner registers in two steps: kNoJoiner -> kJoinRegistering (claims the slot: a
//     second observer is refused without touching the first one's epoch), writes join_epoch,
//     then kJoinRegistering -> its TaskHeader* (acq_rel: publishes join_epoch to the
//     completer, which reads it only after reading the pointer with acquire). A listener
//     (wait, gather) is one CAS: kNoJoiner -> listener | kListenerTag.
//  2. The completer (begin_close) swaps the word, acq_rel: kNoJoiner or kJoinRegistering ->
//     kJoinClosed at once (nobody to notify; a registering joiner's second CAS then fails and
//     it reads the result: the acquire half of its failed CAS pairs with this release, so it
//     sees the result the task wrote before finishing); an observer -> kJoinClosing, notifies
//     it, then stores kJoinClosed (release): from then on the JoinHandle alone owns the frame.
//  3. The JoinHandle reads the result only after it has read kJoinClosed with acquire (its
//     await_resume, or wait_closed() which spins out kJoinClosing): that pairs with step 2's
//     release, so the result and the exception are visible, and nothing of the completer
//     touches the frame any more.
//  4. Dropping the handle first (release_handle): kNoJoiner -> kDetached (acq_rel); the
//     completer then finds kDetached in step 2 and frees the frame itself. Dropping it after
//     kJoinClosed frees the frame at once.
//  5. A joiner withdrawing (cancelled while it waits): its TaskHeader* -> kNoJoiner. If that
//     CAS fails the completer is in step 2 (kJoinClosing or kJoinClosed): the joiner waits
//     for kJoinClosed and takes the result instead, so the completer never wakes a joiner that
//     has gone.
#include <weft/detail/task_header.hpp>

#include <spdlog/spdlog.h>

#include <exception>
#include <string>
#include <string_view>
#include <thread>

#include <weft/detail/context.hpp>
#include <weft/detail/fork_join.hpp>
#include <weft/detail/task_trace.hpp>
#include <weft/error.hpp>

#include "runtime_core.hpp"
#include "worker.hpp"

namespace weft::detail {

namespace ts = task_state;

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

// A join's first step: claims the target's join word (kNoJoiner -> kJoinRegistering), so that a
// second awaiter is refused without touching the first one's epoch. False: the target has
// finished. UsageError: another task awaits it, or it is `self`.
bool claim_join_slot(TaskHeader* target, TaskHeader* self) {
    if (target == self)
        throw UsageError(
            "a task cannot await its own JoinHandle, nor that of a task running it inline (it would wait forever)");
    std::uintptr_t expected = kNoJoiner;
    if (!target->join_waiter.compare_exchange_strong(expected, kJoinRegistering, memory_order_acq_rel,
                                                     memory_order_acquire)) {
        if (expected == kJoinClosed) return false;
        throw UsageError("a task is already awaiting this JoinHandle");
    }
    note_await(self, AwaitKind::task, nullptr, target);  // (the target is alive: we hold its slot)
    return true;
}

}  // namespace

bool join_suspend(TaskHeader* target, std::coroutine_handle<> awaiting, TaskHeader* self) {
    if (cancel_pending(self)) return false;  // await_resume delivers it
    // Claim the slot first, then write join_epoch, then publish ourselves.
    if (!claim_join_slot(target, self)) return false;
    Waker waker = prepare_cancellable_suspend(self, awaiting);
    target->join_epoch = waker.epoch;
    std::uintptr_t expected = kJoinRegistering;
    if (target->join_waiter.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(self),
                                                    memory_order_acq_rel, memory_order_acquire))
        return true;
    cancellable_suspend_withdrawn();  // it finished meanwhile (the completer saw kJoinRegistering)
    return false;
}

namespace {

// A join resumed without its target's end: withdraws `self` as the joiner. False if the target
// finished meanwhile (its completer may still have been inside wake(self): this waited for it
// to let go), and the caller takes the result.
bool withdraw_join(TaskHeader* self, TaskHeader* target) noexcept {
    std::uintptr_t expected = reinterpret_cast<std::uintptr_t>(self);
    if (!target->join_waiter.compare_exchange_strong(expected, kNoJoiner, memory_order_acq_rel, memory_order_acquire) &&
        expected != kNoJoiner) {
        wait_closed(target);
        return false;
    }
    return true;
}

}  // namespace

void join_cancelled(TaskHeader* target, bool propagate) {
    TaskHeader* self = current_task_or_throw("co_await on a JoinHandle");
    // Withdrawn, or never registered (join_suspend saw our cancellation first): the target
    // is still running, so its result must not be taken (nor its frame freed) here.
    if (!withdraw_join(self, target)) return;
    if (propagate) propagate_cancel(self, target);
    throw_if_cancelled(self);
    throw Error("weft internal error: a join resumed with neither completion nor cancellation");
}

// ---- a join that passes cancellation on (asyncio's `await task`) ----------------------------
//
// asyncio's Task.cancel() on a task that awaits another task cancels the awaited one instead,
// and the awaiting task goes on waiting: it sees the awaited task's outcome (its CancelledError,
// or a value if it refused) once that task has finished. So cleanup in the child has run when
// the parent raises, and wait_for() returns only once the task it cancelled has finished.
//
// The waiter publishes its target in its extras' join_forward; request_cancel() on it calls
// forward_cancel(), which passes the request on. The waiter's suspension is not cancellable:
// only the target's end resumes it. Ordering: the requester sets its bit, then reads
// join_forward; the waiter stores join_forward, then reads the bits (all seq_cst), so at least
// one of them sees the other and forwards. A cancel() is moved: the walk that clears its bit
// passes it on (and puts it back if the target has finished). A deadline, whose bit stays on
// the waiter for its scope to raise, is passed on once per expiry.
// Lifetime: a walk "enters" a waiter (forwarders_inside) before it reads join_forward, and
// leaves it only after it has entered the target; the waiter, before it may free the target,
// stores 0 in join_forward and waits until no walk is inside (seq_cst on both sides, as above).
// Walks never wait for each other, so two of them on one cycle cannot deadlock.
// Joins that form a cycle (A awaits B, B awaits A) never end by themselves: a walk that comes
// back to a task it passed a request to (Brent's cycle detection, on addresses) wakes that task
// as a cancellable join would, and it raises CancelledError. (Addresses can be reused: in a
// rare interleaving of several walks a task outside any cycle may be woken that way, and it
// then raises without waiting for its child, as joins did before.) A task awaiting its own
// handle gets UsageError.

namespace {

constexpr std::uint64_t kDeadlinePassed = std::uint64_t{1} << 63;  // timeouts_passed_on: this join passed one

// Enters the waiter whose extras these are. Returns its target (alive until leave()), or
// nullptr: not waiting in a forwarding join (and not entered).
TaskHeader* enter(TaskExtras& extras) noexcept {
    extras.forwarders_inside.fetch_add(1, memory_order_seq_cst);
    auto* target = reinterpret_cast<TaskHeader*>(extras.join_forward.load(memory_order_seq_cst));
    if (!target) extras.forwarders_inside.fetch_sub(1, memory_order_release);
    return target;
}

void leave(TaskExtras& extras) noexcept { extras.forwarders_inside.fetch_sub(1, memory_order_release); }

// The waiter takes its target back: no walk enters from now on, and those inside have left
// when this returns (so the target may be freed, and no cycle wake of this join comes late).
void stop_forwarding(TaskExtras& extras) noexcept {
    extras.join_forward.store(0, memory_order_seq_cst);
    while (extras.forwarders_inside.load(memory_order_seq_cst) != 0) std::this_thread::yield();
}

// Passes `task`'s pending requests on to `target` (the walk is inside `task`). True if the
// target got a request (it may be waiting on a task of its own).
bool pass_on(TaskHeader* task, TaskExtras& extras, TaskHeader* target) noexcept {
    bool passed = false;
    if (task->cancel_bits.fetch_and(~ts::kCancelRequested, memory_order_seq_cst) & ts::kCancelRequested) {
        // This walk took the request: moved with its message, as if delivered.
        std::string* message = extras.cancel_message.exchange(nullptr, memory_order_acq_rel);
        std::string* copy = nullptr;
        if (message) {
            try {
                copy = new std::string(*message);
            } catch (...) {  // out of memory: the target is cancelled without the message
            }
        }
        if (request_cancel_unforwarded(target, ts::kCancelRequested, copy)) {
            passed = true;
            extras.cancel_passed_on.store(true, memory_order_relaxed);  // the awaiter raises the child's error
            delete message;
            extras.cancel_delivered();
        } else {
            // The target has finished: the request stays on the waiter (its next await raises it).
            std::string* expected = nullptr;  // (unless a newer cancel(msg) put its own)
            if (message && !extras.cancel_message.compare_exchange_strong(expected, message, memory_order_acq_rel))
                delete message;
            task->cancel_bits.fetch_or(ts::kCancelRequested, memory_order_seq_cst);
        }
    }
    if (task->cancel_bits.load(memory_order_seq_cst) & ts::kTimeoutRequested) {
        // The target is cancelled once per deadline that expired (a scope that had expired before
        // the join set the bit without a count: the join's first pass takes it).
        const std::uint32_t deadlines = extras.timeouts_requested.load(memory_order_acquire);
        const std::uint64_t now_passed = kDeadlinePassed | deadlines;
        std::uint64_t seen = extras.timeouts_passed_on.load(memory_order_acquire);
        for (;;) {
            bool already = (seen & kDeadlinePassed) &&
                           static_cast<std::int32_t>(static_cast<std::uint32_t>(seen) - deadlines) >= 0;
            if (already) break;
            if (extras.timeouts_passed_on.compare_exchange_weak(seen, now_passed, memory_order_acq_rel,
                                                                memory_order_acquire)) {
                passed = request_cancel_unforwarded(target, ts::kCancelRequested, nullptr) || passed;
                break;
            }
        }
    }
    return passed;
}

}  // namespace

void forward_cancel(TaskHeader* task) noexcept {
    // Hand over hand down a chain of joins, in a loop (a chain may be as long as the program
    // likes; recursion would overflow the stack): being inside the waiter above keeps `task`
    // alive until the walk is inside `task` too.
    TaskExtras* above = nullptr;
    TaskHeader* tortoise = task;  // Brent's cycle detection
    unsigned power = 1;
    unsigned steps = 0;
    for (;;) {
        TaskExtras* extras = task->extras_if_any();  // (a waiter made its extras before it published)
        TaskHeader* target = extras ? enter(*extras) : nullptr;
        if (above) leave(*above);
        if (!target) return;
        if (!pass_on(task, *extras, target)) {
            leave(*extras);
            return;
        }
        if (target == tortoise) {
            // Back at a task this walk passed a request to: a cycle of joins, which no task's end
            // will ever resume. The target is woken as a cancellable join would be, and raises
            // (join_cycle_cancelled). (Its epoch is read inside it: written before it published.)
            if (TaskExtras* cycle = target->extras_if_any()) {
                if (TaskHeader* next = enter(*cycle)) {
                    wake(Waker{target, next->join_epoch});
                    leave(*cycle);
                }
            }
            leave(*extras);
            return;
        }
        if (++steps == power) {
            tortoise = target;
            power *= 2;
            steps = 0;
        }
        above = extras;
        task = target;
    }
}

bool join_suspend_forwarding(TaskHeader* target, std::coroutine_handle<> awaiting, TaskHeader* self) {
    TaskExtras& extras = self->extras();
    extras.cancel_passed_on.store(false, memory_order_relaxed);  // (no walk reads them while join_forward is 0)
    extras.timeouts_passed_on.store(0, memory_order_relaxed);
    if (!claim_join_slot(target, self)) return false;
    // Not a cancellable suspension: only the target's end (its join waker) resumes it, or a
    // forward_cancel that finds a cycle of joins (it reads join_epoch: written before publishing).
    self->resume_point = awaiting;
    target->join_epoch = ts::epoch_of(self->state.load(memory_order_relaxed));
    extras.join_forward.store(reinterpret_cast<std::uintptr_t>(target), memory_order_seq_cst);
    std::uintptr_t expected = kJoinRegistering;
    if (!target->join_waiter.compare_exchange_strong(expected, reinterpret_cast<std::uintptr_t>(self),
                                                     memory_order_acq_rel, memory_order_acquire)) {
        // It finished meanwhile (the completer saw kJoinRegistering). We go on running in this
        // epoch: no walk may wake it for a cycle it is not in.
        stop_forwarding(extras);
        return false;
    }
    forward_cancel(self);  // a request made before join_forward was published
    return true;
}

namespace {

// Woken by forward_cancel in a cycle of joins: withdraws from the target and raises.
void join_cycle_cancelled(TaskHeader* self, TaskHeader* target) {
    if (!withdraw_join(self, target)) return;  // it finished after all: the caller takes its outcome
    propagate_cancel(self, target);
    throw_if_cancelled(self);
    // The request that went round the cycle may sit on another of its tasks by now: the cycle
    // is broken here all the same.
    throw CancelledError();
}

}  // namespace

void join_forwarding_end(TaskHeader* target) {
    TaskHeader* self = current_task_or_throw("co_await on a JoinHandle");
    bool cancel_passed_on = false;
    if (TaskExtras* extras = self->extras_if_any()) {
        stop_forwarding(*extras);  // (the caller may free the target next)
        cancel_passed_on = extras->cancel_passed_on.load(memory_order_relaxed);
    }
    if (wait_closed(target) != kJoinClosed) {  // woken by forward_cancel: a cycle of joins
        join_cycle_cancelled(self, target);
        return;
    }
    // Its CancelledError is the awaiter's too: a cancel() passed on to it stays a
    // CancelledError (even if the awaiter's deadline passed as well). Otherwise a cancellation
    // of the awaiter's own still pending (its expired deadline, or a request that came after
    // the target had finished) is raised instead.
    if (target->cancelled && !cancel_passed_on && cancel_pending(self)) throw_if_cancelled(self);
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

void settle_inlined_cancel(TaskHeader* target, TaskHeader* host) noexcept {
    // Runs on the host's worker, inside the host: nothing else delivers the host's requests.
    if (!(host->cancel_bits.load(memory_order_acquire) & task_state::kCancelRequested))
        return;  // delivered at an await inside the child (it then threw, or caught it)
    TaskExtras& child = target->extras();
    TaskExtras& hosting = host->extras();
    if (child.forwarded_before_delivery.load(memory_order_acquire) !=
        hosting.cancel_deliveries.load(memory_order_acquire))
        return;  // the child's requests were delivered; the pending one is someone else's
    std::uint32_t mine = child.forwarded_cancels.exchange(0, memory_order_acq_rel);
    if (mine == 0) return;
    std::uint32_t pending = hosting.pending_cancels.load(memory_order_acquire);
    std::uint32_t left = 0;
    do {  // (a CAS: other threads may be adding requests meanwhile)
        left = pending > mine ? pending - mine : 0;
    } while (!hosting.pending_cancels.compare_exchange_weak(pending, left, memory_order_acq_rel, memory_order_acquire));
    if (left != 0) {
        // Others' requests are pending too (the host's own, or another inlined child's): the
        // child ends cancelled, the host keeps the bit (and the message) for its next await.
        if (!target->exception) target->exception = std::make_exception_ptr(CancelledError());
        return;
    }
    host->cancel_bits.fetch_and(~task_state::kCancelRequested, memory_order_acq_rel);
    hosting.cancel_deliveries.fetch_add(1, memory_order_acq_rel);
    if (target->exception) {
        delete hosting.cancel_message.exchange(nullptr, memory_order_acq_rel);
    } else {
        target->exception = cancelled_error_for(host);  // takes the message
    }
}

TaskHeader* innermost_task(TaskHeader* running) noexcept {
    return running->inline_innermost ? running->inline_innermost : running;
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

}  // namespace weft::detail
