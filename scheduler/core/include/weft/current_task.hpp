// weft::current_task(): the task running this code, as a handle (asyncio.current_task()).
//
//   weft::TaskRef me = weft::current_task();
//   spdlog::info("task {} ({}) starting", me.id(), me.name());
//   if (me.cancelling() > 0) { ... }   // a cancel() is pending or was not uncancel()ed
//   me.cancel("giving up");            // cancel yourself: the next await raises
//
// Throws UsageError outside a weft task. A child that runs inline inside the task awaiting it
// (the fork-join fast path) is reported as itself, not as its joiner.
//
// cancelling() and uncancel() follow asyncio 3.11 (uncancel()'s reset of a pending request at
// zero is 3.13's): every cancel() that returned true, from a JoinHandle, a TaskRef, a joiner
// that was cancelled itself (propagation) or the runtime's shutdown, adds one; delivering the
// CancelledError does not take it back; uncancel() does (and, on the task itself, when the
// count reaches zero it withdraws a request not delivered yet). Where weft differs:
//  - asyncio's timeout() and TaskGroup cancel the task themselves and uncancel() at their end
//    to tell their own cancellation from one from outside. weft's do not need that: a deadline
//    is a cancel bit of its own (timeout.hpp: TimeoutError for the scope's owner, while a
//    cancel() from outside stays CancelledError), and a TaskGroup cancels its members, never the
//    task awaiting it. So neither ever changes cancelling(): inside an expired timeout() scope
//    it is 0 where asyncio shows 1 until the scope's end, and after the scope (or the group)
//    both show the same count, the cancel() calls from outside. Code that asks "was I
//    cancelled from outside?" with `cancelling() > 0` after a timeout gets asyncio's answer.
//  - A TaskRef does not own the task (asyncio's Task is refcounted): keep it only while the
//    task lives (its own code, or while its JoinHandle is held and it has not been detached).
#pragma once

#include <cstdint>
#include <string_view>

namespace weft {

namespace detail {
class TaskHeader;
}

/// A non-owning handle to a running task (see above).
///
///   weft::Task<> worker() {
///       try { co_await serve(); }
///       catch (const weft::CancelledError& e) { spdlog::info("stopped: {}", e.message()); throw; }
///   }
///   ... weft::current_task().cancel("shutting down");
class TaskRef {
public:
    explicit TaskRef(detail::TaskHeader* task) noexcept : task_(task) {}

    /// Unique, never 0; given out when first asked for (not in spawn order).
    std::uint64_t id() const noexcept;
    /// Empty for an unnamed task; valid while the task lives.
    std::string_view name() const noexcept;
    /// Requests cancellation (JoinHandle::cancel); with a message, the CancelledError the task
    /// sees carries it. On the current task: the next await raises. False if it finished.
    bool cancel() const noexcept;
    bool cancel(std::string_view message) const noexcept;
    /// Cancel requests not yet uncancel()ed (asyncio Task.cancelling()).
    std::uint32_t cancelling() const noexcept;
    /// Takes one back and returns how many are left (asyncio Task.uncancel()); at zero, on the
    /// current task, a request not yet delivered is withdrawn.
    std::uint32_t uncancel() const noexcept;
    /// True once the task has finished (the current task never has).
    bool done() const noexcept;

    friend bool operator==(const TaskRef&, const TaskRef&) = default;
    detail::TaskHeader* task_header() const noexcept { return task_; }

private:
    detail::TaskHeader* task_;
};

/// The task running this code; UsageError outside a weft task.
TaskRef current_task();

/// A TaskRef's id and name as values (what current_task() returned before it was a handle):
/// `weft::TaskInfo info = weft::current_task();`.
struct TaskInfo {
    TaskInfo(std::uint64_t task_id, std::string_view task_name) noexcept : id(task_id), name(task_name) {}
    TaskInfo(const TaskRef& task) noexcept : id(task.id()), name(task.name()) {}  // NOLINT: implicit on purpose
    std::uint64_t id;       // unique, never 0
    std::string_view name;  // empty for unnamed tasks; valid while the task lives
};

}  // namespace weft
