// The fork-join fast path, inline: a spawn onto this worker's own queue, and an awaited
// child still unstarted in that queue run right inside the awaiting task.
//
// These run once per spawn and once per join. As calls (launch, push, take, claim,
// finish) they were over half of a fine-grained task's instructions (callgrind, skynet);
// inline, the compiler folds them into the coroutine. Everything uncommon — a name, a
// runtime stopping, a queue that must publish or is full, a child that is not ours —
// stays out of line in task_header.cpp, which holds the protocol's full story.
#pragma once

#include <coroutine>
#include <cstdint>
#include <string_view>

#include <weft/detail/context.hpp>
#include <weft/detail/local_queue.hpp>
#include <weft/detail/task_header.hpp>
#include <weft/detail/task_hooks.hpp>
#include <weft/detail/task_transitions.hpp>

namespace weft::detail {

// ---- out of line (task_header.cpp) ------------------------------------------------------

// Any thread, any case: makes `task` a spawned task of `runtime` and queues it.
void launch(RuntimeCore* runtime, TaskHeader* task, std::coroutine_handle<> root, std::string_view name);
// Like launch, but at the back of this worker's round (after what is queued here, first-in
// first-out, as a yielded task): what gather, wait and TaskGroup start, in argument order.
// From another thread: launch.
void launch_last(RuntimeCore* runtime, TaskHeader* task, std::coroutine_handle<> root, std::string_view name);
// The worker's full push (publish, wake, spill), or RuntimeShutDown if the runtime is stopping.
void push_spawned_slow(TaskHeader* task);
// The join's uncommon takes: the child is the newest task and public (races the stealers).
std::coroutine_handle<> join_try_inline_newest(TaskHeader* target, std::coroutine_handle<> awaiting,
                                               TaskHeader*& outer) noexcept;
void requeue_not_inlinable(TaskHeader* target) noexcept;  // taken, but started or observed
void note_inlined_failure(TaskHeader* target) noexcept;   // sets `cancelled` from the exception
// A cancel() of the inlined target reached its host and may still be pending there: the
// target ends cancelled, and the request leaves the host unless the host had its own.
void settle_inlined_cancel(TaskHeader* target, TaskHeader* host) noexcept;

// ---- inline --------------------------------------------------------------------------------

// Spawns an unnamed task from a task running on a worker (context.queue is set) of the
// runtime it joins.
inline void launch_here(ThreadContext& context, TaskHeader* task, std::coroutine_handle<> root) {
    task->root = root;  // (its first resume starts here: resume_point is set when it suspends)
    task->runtime = context.runtime;
    transition::spawned(task, /*draining=*/false);  // (a drain forces the full path: see below)
    // Private, unless something asks for a publish (a worker idle, a thief, the runtime
    // stopping: see LocalQueue::publish_on_next_push); then the full push publishes and
    // wakes, or refuses.
    if (!context.queue->try_push_private(task)) [[unlikely]]
        push_spawned_slow(task);
}

// `target` was just taken, unstarted, out of this worker's queue: now it is ours alone (it
// cannot finish meanwhile, and the awaiting task has sole use of its JoinHandle, so
// join_waiter has no other writer): plain stores make it part of the awaiting task (the
// host). `outer` receives the task that was running inside the host until now (nullptr:
// the host itself), for join_finish_inlined to restore.
inline std::coroutine_handle<> join_claim_inlined(ThreadContext& context, TaskHeader* target,
                                                  std::coroutine_handle<> awaiting, TaskHeader*& outer) noexcept {
    if (target->started || target->join_waiter.load(memory_order_relaxed) != kNoJoiner) [[unlikely]] {
        // Woken and re-queued rather than unstarted (it must resume where it suspended,
        // as its own task), or already observed: put it back as it was.
        requeue_not_inlinable(target);
        return {};
    }
    TaskHeader* host = context.task;
    target->inline_host.store(host, memory_order_release);  // cancel() reaches it through the host
    // Become its joiner, so that a second awaiter is refused as usual.
    target->join_waiter.store(reinterpret_cast<std::uintptr_t>(host), memory_order_release);
    // Its state word and `started` stay as they are: nothing reads them again. It never
    // returns to a queue, it suspends as its host (wakers and cancellation address the
    // host), and it ends in join_finish_inlined, not in a worker.
    outer = host->inline_innermost;
    host->inline_innermost = target;  // current_task() reports the child
    target->continuation = awaiting;
    return target->root;
}

// If `target` has not started and sits in this worker's private queue part (or is its
// newest task), takes it and returns its coroutine to run inline, continuing `awaiting`
// when it finishes (a null `awaiting`: it is resumed as a nested call, and returns to its
// caller): it then runs as part of the awaiting task. Else a null handle.
inline std::coroutine_handle<> join_try_inline(TaskHeader* target, std::coroutine_handle<> awaiting,
                                               TaskHeader*& outer) noexcept {
    ThreadContext& context = tls_context;
    LocalQueue* queue = context.queue;
    // (No runtime check: a task found in this worker's queue belongs to its runtime.)
    if (!queue || target->always_start) return {};
    if (target->cancel_bits.load(memory_order_relaxed) != 0) return {};
    if (queue->take_private(target)) [[likely]]
        return join_claim_inlined(context, target, awaiting, outer);
    if (queue->private_empty()) return join_try_inline_newest(target, awaiting, outer);
    return {};  // not among our private tasks: stolen, running, or in another queue
}

// Completes an inlined target once its body has returned (`outer` as the claim set it).
inline void join_finish_inlined(TaskHeader* target, TaskHeader* outer) noexcept {
    TaskHeader* host = target->inline_host.load(memory_order_relaxed);  // ours: no other writer
    target->inline_host.store(nullptr, memory_order_release);
    host->inline_innermost = outer;  // the innermost child finishes first
    // Zero at the claim; only a cancel() forwarded to the host (task_wake.cpp) sets it since.
    if (target->cancel_bits.load(memory_order_acquire) != 0) [[unlikely]]
        settle_inlined_cancel(target, host);
    if (target->exception) [[unlikely]]
        note_inlined_failure(target);
    hooks::finished(target);
    // We are its joiner, so nobody else can be observing it: closed directly.
    target->join_waiter.store(kJoinClosed, memory_order_release);
}

}  // namespace weft::detail
