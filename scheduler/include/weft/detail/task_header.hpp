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
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

class RuntimeCore;

namespace task_state {
inline constexpr std::uint32_t kIdle = 0;
inline constexpr std::uint32_t kScheduled = 1u << 0;  // sits in exactly one run queue
inline constexpr std::uint32_t kRunning = 1u << 1;    // a worker is resuming it
inline constexpr std::uint32_t kNotified = 1u << 2;   // woken while running: re-queue after
inline constexpr std::uint32_t kComplete = 1u << 3;   // finished or abandoned; never runs again
}  // namespace task_state

// join_waiter values: no joiner yet, the task is closed (finished), or a TaskHeader*.
inline constexpr std::uintptr_t kNoJoiner = 0;
inline constexpr std::uintptr_t kJoinClosed = 1;

class TaskHeader {
public:
    Atomic<std::uint32_t> state{task_state::kIdle};
    Atomic<std::uint32_t> refs{0};  // the running task + its JoinHandle
    Atomic<std::uintptr_t> join_waiter{kNoJoiner};
    std::coroutine_handle<> resume_point;  // innermost suspended coroutine of this task
    std::coroutine_handle<> root;          // the spawned (outermost) coroutine
    RuntimeCore* runtime = nullptr;
    std::uint64_t id = 0;
    std::string* name = nullptr;  // owned; allocated only for named tasks
    std::exception_ptr exception;
    bool result_taken = false;  // a JoinHandle observed the outcome

    TaskHeader() = default;
    TaskHeader(const TaskHeader&) = delete;
    TaskHeader& operator=(const TaskHeader&) = delete;
    ~TaskHeader() { delete name; }

    std::string_view name_view() const noexcept { return name ? std::string_view(*name) : std::string_view(); }
};

// The seam between wakers and the scheduler: every source that ends a suspension
// (a finished child, a timer, a lock hand-off) calls wake() and nothing else.
void wake(TaskHeader* task) noexcept;

// Drops one reference; the last one destroys the task's frame.
void release(TaskHeader* task) noexcept;

// Makes `task` a spawned task of `runtime` (ids, name, two references) and queues it.
void launch(RuntimeCore* runtime, TaskHeader* task, std::coroutine_handle<> root, std::string_view name);

// The task running on this thread; throws UsageError naming `what` when there is none.
TaskHeader* current_task_or_throw(const char* what);

// Suspends the current task as the joiner of `target`. False: target already finished.
bool join_suspend(TaskHeader* target, std::coroutine_handle<> awaiting, TaskHeader* self);

}  // namespace weft::detail
