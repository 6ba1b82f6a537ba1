// Done callbacks (asyncio's Task.add_done_callback): code told once when a task finishes.
//
//   auto h = weft::spawn(serve(conn), "conn");
//   h.add_done_callback([&registry](const weft::FinishedTask& t) { registry.erase(t.id()); });
//   registry.emplace(h.id(), std::move(h));   // dropping or detaching the handle is fine
//
// Contract:
//  - Each callback is called exactly once, in the order added, with a FinishedTask: the
//    task's id, name and outcome, copied (it stays valid after the task's frame is gone).
//  - Added before the task finishes: called on the thread that finishes it (a worker of the
//    task's runtime; at shutdown, the thread running the shutdown), right after its outcome
//    is decided and before its JoinHandle reports done() or its awaiter resumes. So a
//    callback may drop, detach or move the JoinHandle (a registry erasing its entry); it
//    reads the outcome from its argument, not from the handle. It runs inside the
//    scheduler: keep it short, never block (a std::mutex held for a few lines is fine).
//  - Added once the task has finished: scheduled, as asyncio's call_soon, as a small task of
//    the task's runtime when called from one of its workers; called at once, on the calling
//    thread, from anywhere else (a plain thread holding a Runtime::spawn handle), or if the
//    runtime is shutting down. Never called inside add_done_callback() from a worker.
//  - An exception escaping a callback is logged (spdlog) and dropped.
//  - An add that races the very end of the task (its outcome decided, its callbacks not yet
//    run) waits, spinning, for the finishing worker to be done with the callbacks added
//    earlier: one more reason for a callback never to block, here on a lock the adder holds.
//  - Add callbacks through the JoinHandle, from the task or thread that holds it (as for
//    co_await); cancel() alone may be called from anywhere.
// Where weft differs: asyncio passes the Task object and always schedules; a weft callback
// added before the end runs synchronously on the finishing worker (no allocation, no extra
// schedule), and gets a copy of the outcome rather than the handle, which has one owner.
// There is no remove_done_callback.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace weft {

/// A finished task as a done callback sees it (a copy: valid as long as this object).
///
///   h.add_done_callback([](const weft::FinishedTask& t) {
///       if (t.exception() && !t.cancelled()) spdlog::warn("task {} failed", t.id());
///   });
class FinishedTask {
public:
    FinishedTask(std::uint64_t id, std::string name, bool cancelled, std::exception_ptr exception)
        : id_(id), name_(std::move(name)), cancelled_(cancelled), exception_(std::move(exception)) {}

    std::uint64_t id() const noexcept { return id_; }
    std::string_view name() const noexcept { return name_; }
    /// Ended by cancellation (CancelledError escaped, or it never started).
    bool cancelled() const noexcept { return cancelled_; }
    /// What it threw (a CancelledError if cancelled()); nullptr if it returned.
    const std::exception_ptr& exception() const noexcept { return exception_; }

private:
    std::uint64_t id_;
    std::string name_;
    bool cancelled_;
    std::exception_ptr exception_;
};

using DoneCallback = std::function<void(const FinishedTask&)>;

namespace detail {
class TaskHeader;
// JoinHandle::add_done_callback's engine (done_callbacks.cpp).
void add_done_callback(TaskHeader* task, DoneCallback callback);

template <class F>
DoneCallback make_done_callback(F&& fn) {
    if constexpr (std::is_invocable_v<F&, const FinishedTask&>) {
        return DoneCallback(std::forward<F>(fn));
    } else {
        static_assert(std::is_invocable_v<F&>, "a done callback takes (const weft::FinishedTask&) or nothing");
        return DoneCallback([fn = std::forward<F>(fn)](const FinishedTask&) mutable { fn(); });
    }
}
}  // namespace detail

}  // namespace weft
