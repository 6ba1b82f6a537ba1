// The header every spawned task carries inside its own coroutine frame.
//
// A spawned task costs one allocation: the frame of its outermost coroutine, whose
// promise starts with this header (state word, references, join waiter, result's
// exception). Nested `co_await some_task()` frames carry it too but never use it.
//
// State protocol (DESIGN.md "one schedule per wake-up"):
//   idle --wake--> scheduled --worker pops--> running --resume returns--> idle
//   running --wake--> running|notified --resume returns--> scheduled (re-queued)
//   running --root coroutine done--> complete
// A wake-up enqueues the task only when it moves it from idle to scheduled, so a task
// is never in two queues and never resumed on two threads at once.
//
// The state word's high half is the resume epoch: each resume increments it. A Waker
// records the epoch in which it was registered, and a wake whose epoch is no longer
// current is ignored. So when a suspension is ended by cancellation, the source that
// lost the race cannot resume the task later at some other suspension point.
// Rule for awaiters: once a waker is registered the awaiter must suspend, unless it
// has taken the registration back.
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include <weft/detail/atomic.hpp>
#include <weft/detail/task_state.hpp>

namespace weft {
class TimeoutScope;
}

namespace weft::detail {

class RuntimeCore;
class ContextMap;

class TaskHeader;

// Who to wake, and for which suspension (see the epoch rule above).
struct Waker {
    TaskHeader* task = nullptr;
    std::uint32_t epoch = 0;
};

// join_waiter: the task's one observer and who owns its frame, in one word.
//   kNoJoiner        running; the JoinHandle owns a share, nobody waits
//   kJoinRegistering a joiner is writing join_epoch
//   TaskHeader*      a task awaits it;  CompletionListener* | kListenerTag: a listener
//   kJoinClosing     finished; the completer is still notifying the joiner or listener
//   kJoinClosed      finished; the completer let go: the JoinHandle alone owns the frame
//   kDetached        the JoinHandle was dropped first: the completer frees the frame
// So a task that finishes with nobody waiting costs the completer one CAS, and the
// JoinHandle frees the frame without any atomic read-modify-write.
inline constexpr std::uintptr_t kNoJoiner = 0;
inline constexpr std::uintptr_t kJoinClosed = 1;
inline constexpr std::uintptr_t kListenerTag = 2;
inline constexpr std::uintptr_t kJoinRegistering = 3;
inline constexpr std::uintptr_t kDetached = 4;
inline constexpr std::uintptr_t kJoinClosing = 5;
inline constexpr std::uintptr_t kLastJoinMarker = 7;  // observers are 8-aligned pointers

class TaskHeader;

// The done callbacks of a task (done_callbacks.cpp), made by its first add_done_callback.
class DoneCallbacks;
struct DoneCallbacksSlot {
    Atomic<DoneCallbacks*> list{nullptr};
    DoneCallbacksSlot() = default;
    DoneCallbacksSlot(const DoneCallbacksSlot&) = delete;
    DoneCallbacksSlot& operator=(const DoneCallbacksSlot&) = delete;
    ~DoneCallbacksSlot() {
        if (DoneCallbacks* callbacks = list.load(memory_order_relaxed)) destroy(callbacks);
    }
    static void destroy(DoneCallbacks* callbacks) noexcept;
};

// Told when a task finishes, on the thread that finished it (keep it short: it runs
// inside the scheduler). Used by wait(), as_completed(), gather().
class CompletionListener {
public:
    virtual void on_complete() noexcept = 0;

protected:
    ~CompletionListener() = default;
};

class TaskRegistry;
struct TaskTrace;
// all_tasks.hpp: the frame of task `id` is being freed (it blocks while all_tasks() looks).
void unregister_task(TaskRegistry& registry, std::uint64_t id, TaskTrace* trace) noexcept;

// What few tasks need: a name, an id someone asked for. Allocated on first need, so that
// the header of every task stays small (a frame is the memory a live task costs).
struct TaskExtras {
    Atomic<std::uint64_t> id{0};  // 0: not given out yet
    std::string name;
    TimeoutScope* innermost_scope = nullptr;  // the task's own: its active timeout scopes
    // cancel(msg): the message the next CancelledError carries (owned; swapped, never read
    // in place, so concurrent cancel(msg) calls and the delivery each own what they took).
    Atomic<std::string*> cancel_message{nullptr};
    Atomic<std::uint32_t> cancel_requests{0};   // cancelling(): cancel() calls not uncancel()ed
    // The cancel() requests merged into this task's pending kCancelRequested bit (its own,
    // and those forwarded from children joined inline in it), and how many times that bit
    // was delivered or withdrawn. A child joined inline counts the requests it forwarded and
    // the delivery they await: its join takes them back if it returns before they are
    // delivered (task_join.cpp, settle_inlined_cancel).
    Atomic<std::uint32_t> pending_cancels{0};
    Atomic<std::uint32_t> cancel_deliveries{0};
    Atomic<std::uint32_t> forwarded_cancels{0};
    Atomic<std::uint32_t> forwarded_before_delivery{0};
    // While the task waits on a started child's JoinHandle (join_suspend_forwarding): that
    // child, to which a cancellation of this task goes (asyncio's `await task`); 0 otherwise.
    // forward_cancel walks inside the task keep the child alive (task_join.cpp).
    Atomic<std::uintptr_t> join_forward{0};
    Atomic<std::uint32_t> forwarders_inside{0};
    // What the current join has passed on: a cancel() (moved to the child), and the deadline
    // count when a deadline last was (with a "one was" bit).
    Atomic<bool> cancel_passed_on{false};
    Atomic<std::uint64_t> timeouts_passed_on{0};
    Atomic<std::uint32_t> timeouts_requested{0};  // deadlines that expired on this task (request_cancel)
    std::shared_ptr<const ContextMap> context;  // ContextVar values (context_var.hpp); the task's own
    std::shared_ptr<TaskRegistry> registry;     // all_tasks(): listed there until its frame is freed
    TaskTrace* trace = nullptr;                 // task_trace.hpp: owned by `registry`'s entry
    DoneCallbacksSlot done_callbacks;
    void cancel_delivered() noexcept {  // (the task's kCancelRequested bit was just cleared)
        pending_cancels.store(0, memory_order_relaxed);
        cancel_deliveries.fetch_add(1, memory_order_acq_rel);
    }
    TaskExtras() = default;
    TaskExtras(const TaskExtras&) = delete;
    TaskExtras& operator=(const TaskExtras&) = delete;
    ~TaskExtras() {
        delete cancel_message.load(memory_order_relaxed);
        if (registry) unregister_task(*registry, id.load(memory_order_relaxed), trace);
    }
};

// 96 bytes: kept small because every live task holds one (spawn of 1M tasks is bound by
// the kernel zeroing fresh pages for their frames).
class TaskHeader {
public:
    Atomic<std::uint64_t> state{task_state::kIdle};
    std::uint32_t join_epoch = 0;   // the joiner's epoch; written before join_waiter is set
    Atomic<std::uint32_t> cancel_bits{0};  // task_state::kCancelRequested | kTimeoutRequested
    Atomic<std::uintptr_t> join_waiter{kNoJoiner};
    std::coroutine_handle<> resume_point;  // innermost suspended coroutine (until it first runs: root)
    std::coroutine_handle<> root;          // the spawned (outermost) coroutine
    // The coroutine to continue when this one finishes: its awaiter when nested (or the
    // join running it inline); none for a spawned task, which returns to its worker.
    std::coroutine_handle<> continuation;
    RuntimeCore* runtime = nullptr;
    std::exception_ptr exception;
    bool result_taken = false;  // a JoinHandle observed the outcome
    bool cancelled = false;     // finished by CancelledError (or never started)
    bool started = false;       // resumed by a worker at least once (an inlined child never is)
    bool always_start = false;  // runs its body even if cancelled before it started
    // Where the owner of a local queue last put this task, modulo 2^32 (a hint: LocalQueue
    // checks the slot).
    Atomic<std::uint32_t> queue_slot{0};
    // Fork-join fast path. For a running task: the innermost child now running inline
    // inside it (nullptr: none). For such a child: the running task that hosts it (each
    // join's awaiter remembers what ran inside the host before its child).
    TaskHeader* inline_innermost = nullptr;
    Atomic<TaskHeader*> inline_host{nullptr};

    TaskHeader() = default;
    TaskHeader(const TaskHeader&) = delete;
    TaskHeader& operator=(const TaskHeader&) = delete;
    ~TaskHeader() { delete extras_.load(memory_order_relaxed); }

    std::string_view name_view() const noexcept {
        const TaskExtras* extras = extras_.load(memory_order_acquire);
        return extras ? std::string_view(extras->name) : std::string_view();
    }
    // Before the task is published (launch): names it.
    void set_name(std::string_view name);
    // Unique and never 0; given out when first asked for (most tasks never are), so a
    // spawn does not pay for it.
    std::uint64_t id() const noexcept;
    TaskExtras& extras() const noexcept;  // allocated on first use
    TaskExtras* extras_if_any() const noexcept { return extras_.load(memory_order_acquire); }

private:
    mutable Atomic<TaskExtras*> extras_{nullptr};
};
static_assert(sizeof(void*) != 8 || sizeof(TaskHeader) == 96, "TaskHeader grew: every live task pays for it");

// The seam between wakers and the scheduler: every source that ends a suspension
// (a finished child, a timer, a lock hand-off) calls wake() and nothing else.
void wake(Waker waker) noexcept;

// The running task's waker for the suspension it is about to enter; marks that
// suspension as one cancellation may end (every weft awaitable is cancellable).
Waker prepare_cancellable_suspend(TaskHeader* self, std::coroutine_handle<> awaiting) noexcept;

// An awaiter that prepared a cancellable suspension but then decided not to suspend.
void cancellable_suspend_withdrawn() noexcept;

// Requests cancellation (bit: kCancelRequested or kTimeoutRequested). A task idle in a
// cancellable wait is scheduled, and its awaiter throws. False if already complete.
bool request_cancel(TaskHeader* task, std::uint32_t bit) noexcept;
// cancel(msg): request_cancel(kCancelRequested) whose CancelledError carries `message`.
bool request_cancel(TaskHeader* task, std::string_view message) noexcept;
// `self`, cancelled while it awaited `target`, cancels it too (asyncio's propagation), passing
// on the message of its own cancel(msg) if it has one.
void propagate_cancel(TaskHeader* self, TaskHeader* target) noexcept;
// The CancelledError for `task` (with the message of its cancel(msg), taken, if any).
std::exception_ptr cancelled_error_for(TaskHeader* task) noexcept;

// The shutdown's cancellation of `task` (request_cancel once: kShutdownCancelled). The caller
// guarantees that the task is alive. False if it had been cancelled that way already.
bool request_shutdown_cancel(TaskHeader* task) noexcept;

// Whether a cancellation is waiting to be delivered to `task`.
inline bool cancel_pending(const TaskHeader* task) noexcept;

// Consumes a pending cancellation and throws CancelledError or TimeoutError; returns if
// none is pending.
void throw_if_cancelled(TaskHeader* task);

// The JoinHandle lets go of `task`: frees the frame if the task has finished (kJoinClosed),
// else marks it detached so that its completer frees it.
void release_handle(TaskHeader* task) noexcept;
// Frees a finished task's frame (logging a failure nobody observed).
inline void destroy_task(TaskHeader* task) noexcept;
void log_unobserved_failure(TaskHeader* task) noexcept;
// Waits out a completer that is still notifying (kJoinClosing); returns the final value.
std::uintptr_t wait_closed(const TaskHeader* task) noexcept;

// The task running on this thread; throws UsageError naming `what` when there is none.
TaskHeader* current_task_or_throw(const char* what);
TaskHeader* tls_task() noexcept;  // or nullptr

// Suspends the current task as the joiner of `target`. False: target already finished
// (or a cancellation is pending: await_resume then throws).
bool join_suspend(TaskHeader* target, std::coroutine_handle<> awaiting, TaskHeader* self);

// join_suspend for an awaiter that propagates cancellation (asyncio's `await task`): while
// `self` waits, a cancellation requested of it goes to `target` instead of ending the wait,
// and `self` waits on until `target` has finished. False: target already finished. The
// awaiter then calls join_forwarding_end, whether or not this suspended.
bool join_suspend_forwarding(TaskHeader* target, std::coroutine_handle<> awaiting, TaskHeader* self);
// Ends the forwarding of join_suspend_forwarding once `target` has finished. If `target` ended
// cancelled and a cancellation of the awaiting task is still pending (a timeout scope's, or
// one that came too late to be passed on), throws it; else returns and the caller takes the
// target's outcome.
void join_forwarding_end(TaskHeader* target);
// A cancellation was just requested of `task`: if it waits in join_suspend_forwarding, pass
// the request on to the awaited child, and so on down a chain of such joins (task_join.cpp).
void forward_cancel(TaskHeader* task) noexcept;
// request_cancel for forward_cancel: `bit` with `message` (owned, may be null), without
// passing it on (forward_cancel walks the chain itself).
bool request_cancel_unforwarded(TaskHeader* task, std::uint32_t bit, std::string* message) noexcept;

// Registers `listener` as the one observer of `task`'s completion. False: the task has
// already finished (the listener will not be called).
bool listen(TaskHeader* task, CompletionListener* listener);

// Withdraws a registration. If the task finished meanwhile, waits until the completer
// has returned from on_complete(), so the listener may be destroyed afterwards.
void unlisten(TaskHeader* task, CompletionListener* listener) noexcept;

// (join_try_inline and join_finish_inlined, the fork-join fast path: fork_join.hpp.)
// The awaiting frame is being destroyed with the inlined target still suspended.
void join_abandon_inlined(TaskHeader* target, TaskHeader* outer) noexcept;
// The task whose code is running: the innermost child inlined into `running`.
TaskHeader* innermost_task(TaskHeader* running) noexcept;

// A join await resumed without its target finishing: withdraw, cancel the target if
// `propagate`, and throw the pending cancellation. If the target finished after all,
// returns normally (the caller takes the result; the cancellation stays pending).
void join_cancelled(TaskHeader* target, bool propagate);

inline bool cancel_pending(const TaskHeader* task) noexcept {
    return (task->cancel_bits.load(memory_order_acquire) & task_state::kCancelBits) != 0;
}

inline void destroy_task(TaskHeader* task) noexcept {
    if (task->exception && !task->result_taken && !task->cancelled) [[unlikely]]
        log_unobserved_failure(task);
    task->root.destroy();
}

}  // namespace weft::detail
