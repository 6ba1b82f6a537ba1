#include <weft/task_group.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>

#include <weft/detail/task_trace.hpp>

namespace weft {

TaskGroup::~TaskGroup() {
    if (state_->live() != 0) {
        spdlog::error("weft: TaskGroup destroyed with members still running (co_await group.wait()); cancelling them");
        state_->cancel_members();
    }
}

namespace detail {

namespace {
bool is_cancellation(const std::exception_ptr& error) {
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
}  // namespace

void GroupState::admit() {
    {
        std::lock_guard lock(mutex_);
        if (!finished_ && !failed_) [[likely]] {
            ++live_;
            return;
        }
        if (finished_)
            throw UsageError(
                "TaskGroup::spawn: the group has finished (its wait() returned); the task was not started");
    }
    // Shutting down (asyncio: RuntimeError). A member spawning here has been cancelled with
    // the group: that cancellation, rather than an error of its own that would fail the group.
    if (TaskHeader* self = tls_task(); self && cancel_pending(self)) throw_if_cancelled(self);
    throw UsageError(
        "TaskGroup::spawn: the group is shutting down (a member failed, or it was cancelled); the task was not "
        "started");
}

void GroupState::mark_finished() noexcept {
    std::lock_guard lock(mutex_);
    finished_ = true;
}

void GroupState::attach(TaskHeader* member) {
    std::lock_guard lock(mutex_);
    running_.push_back(member);
    if (failed_) request_cancel(member, task_state::kCancelRequested);
}

void GroupState::finish(TaskHeader* member, std::exception_ptr error) noexcept {
    std::lock_guard lock(mutex_);
    if (auto it = std::find(running_.begin(), running_.end(), member); it != running_.end()) running_.erase(it);
    if (error && !is_cancellation(error)) {
        member->result_taken = true;  // reported through the ExceptionGroup, not the log
        errors_.push_back(error);
        if (!failed_) {
            failed_ = true;
            for (TaskHeader* other : running_) request_cancel(other, task_state::kCancelRequested);
        }
    }
    // Wake under the lock: the waiter checks `live_` under it too, so it cannot be gone.
    if (--live_ == 0 && waiting_) {
        waiting_ = false;
        wake(waiter_);
    }
}

void GroupState::cancel_members() noexcept {
    std::lock_guard lock(mutex_);
    for (TaskHeader* member : running_) request_cancel(member, task_state::kCancelRequested);
    failed_ = true;  // members not started yet are cancelled as they attach
}

std::size_t GroupState::live() noexcept {
    std::lock_guard lock(mutex_);
    return live_;
}

bool GroupState::DrainAwaiter::await_suspend(std::coroutine_handle<> awaiting) {
    TaskHeader* self = current_task_or_throw("TaskGroup::wait()");
    if (cancel_pending(self)) return false;
    std::lock_guard lock(state_.mutex_);
    if (state_.live_ == 0) return false;
    note_await(self, AwaitKind::tasks, "weft::TaskGroup");
    state_.waiter_ = prepare_cancellable_suspend(self, awaiting);
    state_.waiting_ = true;
    return true;
}

void GroupState::DrainAwaiter::await_resume() {
    bool drained;
    {
        std::lock_guard lock(state_.mutex_);
        state_.waiting_ = false;
        drained = state_.live_ == 0;
    }
    if (!drained) throw_if_cancelled(current_task_or_throw("TaskGroup::wait()"));
}

Task<void> GroupState::wait_all() {
    FinishOnExit finished_when_done{*this};
    std::exception_ptr cancellation;
    for (;;) {
        try {
            co_await DrainAwaiter(*this);
        } catch (...) {
            // The waiting task was cancelled: cancel the members, but still wait for them.
            if (!cancellation) cancellation = std::current_exception();
            cancel_members();
        }
        if (live() == 0) break;
    }
    std::vector<std::exception_ptr> errors;
    {
        std::lock_guard lock(mutex_);
        errors = errors_;
    }
    // asyncio: the members' failures win over the waiter's own cancellation (they would be
    // lost otherwise: finish() took them from the log).
    if (!errors.empty()) throw ExceptionGroup(std::move(errors));
    if (cancellation) std::rethrow_exception(cancellation);
}

}  // namespace detail
}  // namespace weft
