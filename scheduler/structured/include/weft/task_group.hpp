// weft::TaskGroup: structured concurrency (asyncio.TaskGroup).
//
//   co_await weft::TaskGroup::run([&](weft::TaskGroup& group) -> weft::Task<> {
//       group.spawn(fetch(a));
//       group.spawn(fetch(b));
//       co_return;
//   });   // returns once every member finished
//
// Rules (asyncio 3.11): the first member to fail with an exception other than
// CancelledError cancels every other member (the body included, when using run());
// once all have finished, wait()/run() throws an ExceptionGroup holding every such
// failure. If the waiting task is cancelled, the members are cancelled, waited for, and
// the CancelledError is rethrown, unless members failed: the ExceptionGroup wins (asyncio).
// Once a member failed or the group was cancelled it is shutting down, and after wait()
// returned it is finished: spawn() then throws UsageError (asyncio's RuntimeError) and the
// task never runs (a member of the group being cancelled gets its CancelledError instead).
// Members run as ordinary spawned tasks on any worker.
// Or, without a body task:
//   weft::TaskGroup group;  group.spawn(x());  auto h = group.spawn(y());
//   co_await group.wait();                      // then `co_await h` returns at once
#pragma once

#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <source_location>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/detail/task_header.hpp>
#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

namespace weft {

namespace detail {

// Shared by a TaskGroup and its members, so members may outlive the group object.
class GroupState {
public:
    void admit();  // a member is about to be spawned; UsageError if the group is shutting down or finished
    void attach(TaskHeader* member);               // the member started running
    void finish(TaskHeader* member, std::exception_ptr error) noexcept;
    void cancel_members() noexcept;
    std::size_t live() noexcept;
    Task<void> wait_all();
    void mark_finished() noexcept;  // wait_all() is returning: no more members

    class DrainAwaiter {
    public:
        explicit DrainAwaiter(GroupState& state) noexcept : state_(state) {}
        bool await_ready() { return state_.live() == 0; }
        bool await_suspend(std::coroutine_handle<> awaiting);
        void await_resume();

    private:
        GroupState& state_;
    };

private:
    struct FinishOnExit {
        GroupState& state;
        ~FinishOnExit() { state.mark_finished(); }
    };

    std::mutex mutex_;
    std::vector<TaskHeader*> running_;  // attached members; each removes itself in finish()
    std::vector<std::exception_ptr> errors_;
    std::size_t live_ = 0;
    bool failed_ = false;    // a member failed, or the group was cancelled: it is shutting down
    bool finished_ = false;  // wait_all() returned
    bool waiting_ = false;
    Waker waiter_;
};

template <class T>
Task<T> group_member(Task<T> inner, std::shared_ptr<GroupState> state) {
    state->attach(current_task_or_throw("a TaskGroup member"));
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(inner);
            state->finish(tls_task(), nullptr);
        } else {
            T value = co_await std::move(inner);
            state->finish(tls_task(), nullptr);
            co_return value;
        }
    } catch (...) {
        state->finish(tls_task(), std::current_exception());
        throw;
    }
}

}  // namespace detail

class TaskGroup {
public:
    TaskGroup() : state_(std::make_shared<detail::GroupState>()) {}
    TaskGroup(const TaskGroup&) = delete;
    TaskGroup& operator=(const TaskGroup&) = delete;
    /// Members still running are cancelled (they cannot be awaited here): call wait().
    ~TaskGroup();

    /// Starts `task` as a member; callable from any task of the runtime. Members spawned in a
    /// row start in that order (they queue first-in first-out, as in asyncio).
    template <class T>
    JoinHandle<T> spawn(Task<T> task, std::string_view name = {},
                        std::source_location where = std::source_location::current()) {
        state_->admit();
        auto member = detail::group_member(std::move(task), state_);
        detail::TaskAccess::promise(member).always_start = true;  // so finish() always runs
        return detail::spawn_last(std::move(member), name, where);
    }

    /// Waits for every member (see the rules above).
    Task<void> wait() { return state_->wait_all(); }

    /// Cancels every member.
    void cancel() noexcept { state_->cancel_members(); }

    /// Runs body(group) as a member and waits for the whole group.
    template <class Body>
    static Task<void> run(Body&& body) {
        TaskGroup group;
        group.spawn(std::forward<Body>(body)(group), "task-group-body").detach();
        co_await group.wait();
    }

private:
    std::shared_ptr<detail::GroupState> state_;
};

}  // namespace weft
