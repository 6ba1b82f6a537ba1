#include <weft/detail/completion_set.hpp>

#include <weft/detail/task_trace.hpp>
#include <weft/error.hpp>

#include <thread>

namespace weft::detail {

CompletionSet::CompletionSet(const std::vector<TaskHeader*>& tasks) : entries_storage_(new Entry[tasks.size()]) {
    entries_.reserve(tasks.size());
    try {
        for (std::size_t i = 0; i < tasks.size(); ++i) {
            Entry* entry = &entries_storage_[i];
            entry->set = this;
            entry->task = tasks[i];
            entry->index = i;
            entries_.push_back(entry);
            entry->listening = listen(tasks[i], entry);
            if (!entry->listening) ready_.push_back(i);  // already finished
        }
    } catch (...) {
        for (Entry* entry : entries_)
            if (entry->listening) unlisten(entry->task, entry);
        throw;
    }
}

CompletionSet::~CompletionSet() {
    for (Entry* entry : entries_)
        if (entry->listening) unlisten(entry->task, entry);
}

void CompletionSet::Entry::on_complete() noexcept { set->push_done(this); }

void CompletionSet::push_done(Entry* entry) noexcept {
    std::uintptr_t head = done_head_.load(memory_order_relaxed);
    for (;;) {
        entry->next_done = head > kWaiting ? reinterpret_cast<Entry*>(head) : nullptr;
        if (done_head_.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(entry), memory_order_acq_rel,
                                             memory_order_relaxed))
            break;
    }
    if (head == kWaiting) wake(waiter_);
}

void CompletionSet::collect() noexcept {
    std::uintptr_t head = done_head_.load(memory_order_acquire);
    while (head > kWaiting) {
        if (done_head_.compare_exchange_weak(head, 0, memory_order_acq_rel, memory_order_acquire)) break;
    }
    if (head <= kWaiting) return;
    // The stack holds the newest first: reverse it into completion order.
    std::size_t first_new = ready_.size();
    for (auto* entry = reinterpret_cast<Entry*>(head); entry; entry = entry->next_done) {
        // Still `listening`: its completer may be inside on_complete until kJoinClosed,
        // which the destructor's unlisten() waits for.
        ready_.insert(ready_.begin() + static_cast<std::ptrdiff_t>(first_new), entry->index);
    }
}

bool CompletionSet::NextAwaiter::await_ready() {
    set_.collect();
    return !set_.ready_.empty() || set_.all_reported();
}

bool CompletionSet::NextAwaiter::await_suspend(std::coroutine_handle<> awaiting) {
    TaskHeader* self = current_task_or_throw("co_await on a completion set");
    if (cancel_pending(self)) return false;
    note_await(self, AwaitKind::tasks, "gather/wait/as_completed");
    set_.waiter_ = prepare_cancellable_suspend(self, awaiting);
    std::uintptr_t expected = 0;
    if (set_.done_head_.compare_exchange_strong(expected, kWaiting, memory_order_acq_rel, memory_order_acquire))
        return true;
    cancellable_suspend_withdrawn();
    return false;  // a completion arrived in between
}

std::optional<std::size_t> CompletionSet::NextAwaiter::await_resume() {
    std::uintptr_t expected = kWaiting;
    set_.done_head_.compare_exchange_strong(expected, 0, memory_order_acq_rel, memory_order_acquire);
    set_.collect();
    if (set_.ready_.empty()) {
        if (set_.all_reported()) return std::nullopt;
        TaskHeader* self = current_task_or_throw("co_await on a completion set");
        throw_if_cancelled(self);
        throw Error("weft internal error: a completion wait resumed with nothing completed");
    }
    std::size_t index = set_.ready_.front();
    set_.ready_.pop_front();
    ++set_.reported_;
    // Once reported, the caller may consume the handle and free the task: let its completer
    // finish with this set first, and never touch the task again (see the destructor).
    if (Entry* entry = set_.entries_[index]; entry->listening) {
        wait_closed(entry->task);
        entry->listening = false;
    }
    return index;
}

}  // namespace weft::detail
