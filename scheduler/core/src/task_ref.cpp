// weft::TaskRef (current_task.hpp): a running task's id, name and cancellation count.
#include <weft/current_task.hpp>

#include <weft/detail/context.hpp>
#include <weft/detail/task_header.hpp>

namespace weft {

namespace ts = detail::task_state;

TaskRef current_task() {
    return TaskRef(detail::innermost_task(detail::current_task_or_throw("weft::current_task()")));
}

std::uint64_t TaskRef::id() const noexcept { return task_->id(); }

std::string_view TaskRef::name() const noexcept { return task_->name_view(); }

bool TaskRef::cancel() const noexcept { return detail::request_cancel(task_, ts::kCancelRequested); }

bool TaskRef::cancel(std::string_view message) const noexcept { return detail::request_cancel(task_, message); }

std::uint32_t TaskRef::cancelling() const noexcept {
    const detail::TaskExtras* extras = task_->extras_if_any();
    return extras ? extras->cancel_requests.load(detail::memory_order_acquire) : 0;
}

std::uint32_t TaskRef::uncancel() const noexcept {
    detail::TaskExtras* extras = task_->extras_if_any();
    if (!extras) return 0;
    std::uint32_t count = extras->cancel_requests.load(detail::memory_order_acquire);
    while (count != 0 && !extras->cancel_requests.compare_exchange_weak(count, count - 1, detail::memory_order_acq_rel,
                                                                        detail::memory_order_acquire)) {
    }
    if (count == 0) return 0;
    if (count == 1 && task_ == detail::tls_task()) {
        // On the running task (not an inline child: its requests are its host's bits), nothing
        // is suspended, so withdrawing the bit cannot leave an awaiter resumed by nothing
        // (a poke already made only says "look": end_resume() re-reads the bits).
        task_->cancel_bits.fetch_and(~ts::kCancelRequested, detail::memory_order_acq_rel);
        extras->cancel_delivered();
        delete extras->cancel_message.exchange(nullptr, detail::memory_order_acq_rel);
    }
    return count - 1;
}

bool TaskRef::done() const noexcept {
    std::uintptr_t value = task_->join_waiter.load(detail::memory_order_acquire);
    return value == detail::kJoinClosed || value == detail::kJoinClosing;
}

}  // namespace weft
