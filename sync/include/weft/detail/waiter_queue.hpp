// The one waiter queue under every weft::sync primitive (Lock, Semaphore, Event, Condition,
// Barrier, Latch, SharedLock, the queues). The awaiter object itself is the queue node, so
// waiting allocates nothing; the node lives in the waiting coroutine's frame.
//
// Protocol (every primitive follows it; `guard` is the primitive's SpinLock):
//  1. await_ready tries the primitive's lock-free fast path; if that completes the operation
//     nothing below happens, unless the task's cooperative budget is spent (coop_spend(),
//     context.hpp): then await_ready returns false and await_suspend, seeing the node already
//     `woken`, only yields (yield_suspend); await_resume then returns the result as usual.
//  2. await_suspend (suspend_waiter): if a cancellation is pending, do not suspend (the node
//     stays `idle` and await_resume throws it). Else prepare the waker, then under guard retry
//     the operation: if it completes now, mark the node `woken` with its outcome and withdraw
//     the suspension; otherwise link the node (`queued`) and suspend.
//  3. A source ends a wait only under guard: it unlinks the node, writes the outcome (and the
//     item, for a queue), calls wake(node.waker), then stores `woken` (release). That store is
//     its last touch of the node.
//  4. await_resume (settle_wait): `woken` (acquire) means the source's outcome is ours. Else
//     take guard and look again: `woken` now means the same; still `queued` means the task was
//     resumed by cancellation: the primitive unlinks the node under guard (fixing its own
//     bookkeeping) and the awaiter throws the cancellation (throw_cancelled).
//
// Why this is safe:
//  - The source and the cancellation race only through the node's state, decided under guard:
//    exactly one of them wins. If the cancellation won, the node is gone before any source can
//    see it. If the source won but a cancellation was requested before the task resumed
//    (cancel() returned true: asyncio's `_must_cancel`), the wait still ends with the
//    cancellation: settle_wait's `give_back()` passes the grant on under guard (to the next
//    waiter, or back to the primitive), so nothing is lost and nothing is held by a task that
//    threw. A grant in step 2 (the task was running, it never waited) is kept: a cancellation
//    then comes at the next await, as in asyncio.
//  - wake() only schedules the task (it resumes later on a worker loop, never inline), so
//    calling it under guard cannot deadlock or recurse. The waiter cannot leave await_resume
//    (and so cannot free the node or finish its task) until it has seen `woken` or taken
//    guard, so the node and the TaskHeader wake() touches are alive while the source uses them.
//  - A wake that lost the race (the task was already resumed by cancellation) carries an old
//    epoch and is ignored by the scheduler; it can never resume the task somewhere else.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include <weft/detail/atomic.hpp>
#include <weft/detail/context.hpp>
#include <weft/detail/parked_waits.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/detail/task_trace.hpp>
#include <weft/yield.hpp>

namespace weft::detail {

// Throws UsageError: the primitive this task waited on was destroyed (WaiterQueue's destructor).
[[noreturn]] void throw_abandoned();

enum class WaitState : std::uint8_t {
    idle,    // not queued: the await completed at once, or a cancellation was pending
    queued,  // linked in a waiter queue, waiting for a source
    woken,   // a source ended the wait; `outcome` says how
    abandoned,  // the primitive was destroyed while the node waited: await_resume throws UsageError
};

struct WaiterNode {
    WaiterNode* prev = nullptr;
    WaiterNode* next = nullptr;
    Waker waker{};
    Atomic<WaitState> state{WaitState::idle};
    std::uint8_t outcome = 0;  // the primitive's verdict (granted, shut down, broken, ...)
    std::uint8_t tag = 0;      // the primitive's note about the waiter (permit core: 1 = asks for all)
    bool linked = false;       // it really waited (step 2 linked it), so a grant may be given back

    WaiterNode() = default;
    // Never copied: every awaiter is awaited as the object itself (a prvalue `co_await
    // q.get()` or an lvalue), never through an `operator co_await` returning a reference,
    // which g++ 12 copies. With copies deleted, a compiler that wanted one fails to build
    // rather than queue a copy while the code reads the original (that broke Condition).
    WaiterNode(const WaiterNode&) = delete;
    WaiterNode& operator=(const WaiterNode&) = delete;
    // Moved only before it is awaited (wait_for() moves the awaiter into its own frame): the
    // new node starts fresh, keeping the primitive's tag. UsageError for a node that has been
    // awaited (it may be linked in a queue, or hold a grant).
    WaiterNode(WaiterNode&& other) : tag(other.tag) {
        if (other.linked || other.state.load(memory_order_relaxed) != WaitState::idle) [[unlikely]]
            throw_moved_awaiter();
    }

    [[noreturn]] static void throw_moved_awaiter();
};

// An intrusive FIFO of nodes. Not synchronised: always used under the owner's guard, which it
// is given so that a shutdown can reach the tasks parked in it (parked_waits.hpp).
class WaiterQueue final : public ParkedWaitList {
public:
    explicit WaiterQueue(SpinLock& guard) noexcept : guard_(guard) {}
    // Leaves the registry first (a shutdown may be walking it). A primitive destroyed while
    // tasks still wait on it is a bug in the program (they would wait forever on freed memory):
    // it is logged, naming the waiting tasks, and each of them resumes with UsageError instead.
    ~WaiterQueue() {
        leave_registry();
        if (head_) [[unlikely]]
            abandon_waiters();
    }
    using ParkedWaitList::register_parked;  // by enqueue(), on the first wait

    bool empty() const noexcept { return head_ == nullptr; }
    std::size_t size() const noexcept { return size_; }
    WaiterNode* front() const noexcept { return head_; }

    void push_back(WaiterNode* node) noexcept {
        node->next = nullptr;
        node->prev = tail_;
        if (tail_) {
            tail_->next = node;
        } else {
            head_ = node;
        }
        tail_ = node;
        ++size_;
    }

    WaiterNode* pop_front() noexcept {
        WaiterNode* node = head_;
        if (node) remove(node);
        return node;
    }

    void remove(WaiterNode* node) noexcept {
        (node->prev ? node->prev->next : head_) = node->next;
        (node->next ? node->next->prev : tail_) = node->prev;
        node->prev = node->next = nullptr;
        --size_;
    }

    std::size_t visit_parked(const Visit& visit) noexcept override;

private:
    void abandon_waiters() noexcept;

    SpinLock& guard_;
    WaiterNode* head_ = nullptr;
    WaiterNode* tail_ = nullptr;
    std::size_t size_ = 0;
};

// Step 2 for a node that completes without suspending: the verdict is `outcome`.
inline void complete_now(WaiterNode& node, std::uint8_t outcome) noexcept {
    node.outcome = outcome;
    node.state.store(WaitState::woken, memory_order_relaxed);
}

// Step 2 for a node that will suspend: link it. Under guard.
inline void enqueue(WaiterQueue& queue, WaiterNode& node) noexcept {
    if (!queue.registered()) [[unlikely]]
        queue.register_parked();
    node.state.store(WaitState::queued, memory_order_relaxed);
    node.linked = true;
    queue.push_back(&node);
}

// Step 3: ends a queued node's wait with `outcome`. Under guard, after the node was unlinked.
inline void wake_waiter(WaiterNode* node, std::uint8_t outcome) noexcept {
    node->outcome = outcome;
    wake(node->waker);
    node->state.store(WaitState::woken, memory_order_release);  // last touch of the node
}

// Step 2. `enqueue_or_complete()` runs under no lock of ours: the primitive takes its guard,
// then either completes the node (complete_now) and returns false, or links it (enqueue) and
// returns true. Returns whether to suspend. `what` and `object` (the primitive) say what the
// task awaits in dumps (task_trace.hpp).
template <class EnqueueOrComplete>
bool suspend_waiter(WaiterNode& node, const char* what, std::coroutine_handle<> awaiting,
                    EnqueueOrComplete&& enqueue_or_complete, const void* object = nullptr) {
    TaskHeader* self = current_task_or_throw(what);
    if (cancel_pending(self)) return false;  // the node stays idle: await_resume throws
    note_await(self, AwaitKind::primitive, what, object);
    node.waker = prepare_cancellable_suspend(self, awaiting);
    if (enqueue_or_complete()) return true;
    cancellable_suspend_withdrawn();
    return false;
}

// Step 2 for operations that need not wait (a queue's put() while there is room): a pending
// cancellation is delivered only if the operation would really wait, as in asyncio.
// `enqueue_or_complete(may_wait)` completes the node if it can; else, if may_wait, links it and
// returns true; else returns false leaving the node idle.
template <class EnqueueOrComplete>
bool suspend_or_try(WaiterNode& node, const char* what, std::coroutine_handle<> awaiting,
                    EnqueueOrComplete&& enqueue_or_complete, const void* object = nullptr) {
    TaskHeader* self = current_task_or_throw(what);
    if (cancel_pending(self)) {
        enqueue_or_complete(false);
        return false;
    }
    note_await(self, AwaitKind::primitive, what, object);
    node.waker = prepare_cancellable_suspend(self, awaiting);
    if (enqueue_or_complete(true)) return true;
    cancellable_suspend_withdrawn();
    return false;
}

// Step 4's common case, cheap enough to inline: the wait completed (or never began).
inline bool completed(const WaiterNode& node) noexcept {
    return node.state.load(memory_order_acquire) == WaitState::woken;
}

// Step 4. True: a source (or step 2) completed the wait and node.outcome holds the verdict.
// False: the wait was cancelled (or never started because a cancellation was pending); when the
// node was queued, `unlink()` has run under guard. The caller then calls throw_cancelled().
template <class Unlink>
bool settle_wait(WaiterNode& node, SpinLock& guard, Unlink&& unlink) {
    WaitState state = node.state.load(memory_order_acquire);
    if (state == WaitState::woken) return true;
    if (state == WaitState::idle) return false;
    if (state == WaitState::abandoned) [[unlikely]]
        throw_abandoned();  // (the primitive is gone: not even its guard may be touched)
    SpinGuard locked(guard);
    if (node.state.load(memory_order_relaxed) == WaitState::woken) return true;
    unlink();
    return false;
}

// Step 4 with asyncio's `_must_cancel` rule, for waits whose grant can be passed on. As above,
// and also false when a source ended the wait but a cancellation was requested before the
// task resumed: then `give_back()` has run under guard (node.outcome says what was granted).
template <class Unlink, class GiveBack>
bool settle_wait(WaiterNode& node, SpinLock& guard, Unlink&& unlink, GiveBack&& give_back) {
    WaitState state = node.state.load(memory_order_acquire);
    // (Only the task itself consumes its cancellation bits, so "pending" cannot go stale here.)
    if (state == WaitState::woken && !(node.linked && cancel_pending(node.waker.task))) return true;
    if (state == WaitState::idle) return false;
    if (state == WaitState::abandoned) [[unlikely]]
        throw_abandoned();  // (the primitive is gone: not even its guard may be touched)
    SpinGuard locked(guard);
    if (node.state.load(memory_order_relaxed) == WaitState::woken) {
        if (!cancel_pending(node.waker.task)) return true;
        give_back();
        return false;
    }
    unlink();
    return false;
}

// Who holds a lock: the task whose code runs. A child awaited right after spawn() runs inline
// inside its joiner and suspends as the joiner (its wakers address the joiner), yet it is a task
// of its own. nullptr on a plain thread.
inline TaskHeader* running_task() noexcept {
    TaskHeader* task = tls_context.task;
    return task && task->inline_innermost ? task->inline_innermost : task;
}
// The task that suspended with `waker`: the innermost child running inline in it. (Read by a
// source under the primitive's guard: the joiner wrote it before it queued, under that guard.)
inline TaskHeader* waiting_task(const Waker& waker) noexcept {
    return waker.task->inline_innermost ? waker.task->inline_innermost : waker.task;
}

// Throws the current task's pending cancellation (CancelledError or TimeoutError).
[[noreturn]] void throw_cancelled();

// For waits that cancellation must not interrupt (Condition re-acquiring its lock): the waker
// for a suspension the scheduler will not end on cancel(); only a source can.
inline Waker prepare_uncancellable_suspend(TaskHeader* self, std::coroutine_handle<> awaiting) noexcept {
    self->resume_point = awaiting;
    return Waker{self, task_state::epoch_of(self->state.load(memory_order_relaxed))};
}

}  // namespace weft::detail
