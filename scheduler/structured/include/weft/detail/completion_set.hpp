// One task waiting for any of several others: the engine of wait(), as_completed(),
// gather() and when_any().
//
// Each watched task gets a listener (its JoinHandle's one observer slot). Completions
// are pushed onto a lock-free stack whose head doubles as the waiter flag:
//   0 = nothing new, kWaiting = nothing new and the waiter is suspended, else Entry*.
// The waiter suspends only by CAS 0 -> kWaiting; a completer that replaces kWaiting
// wakes it. The destructor withdraws every listener (waiting out any completer still
// inside on_complete), so the set may live in the waiter's frame.
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include <weft/detail/task_header.hpp>

namespace weft::detail {

class CompletionSet {
public:
    explicit CompletionSet(const std::vector<TaskHeader*>& tasks);
    ~CompletionSet();
    CompletionSet(const CompletionSet&) = delete;
    CompletionSet& operator=(const CompletionSet&) = delete;

    std::size_t size() const noexcept { return entries_.size(); }

    // The index of the next task to finish, in completion order; nullopt once every
    // task has been reported. A cancellation point.
    class NextAwaiter {
    public:
        explicit NextAwaiter(CompletionSet& set) noexcept : set_(set) {}
        bool await_ready();
        bool await_suspend(std::coroutine_handle<> awaiting);
        std::optional<std::size_t> await_resume();

    private:
        CompletionSet& set_;
    };
    NextAwaiter next() noexcept { return NextAwaiter(*this); }

private:
    struct Entry final : CompletionListener {
        CompletionSet* set = nullptr;
        TaskHeader* task = nullptr;
        std::size_t index = 0;
        Entry* next_done = nullptr;
        bool listening = false;
        void on_complete() noexcept override;
    };
    static constexpr std::uintptr_t kWaiting = 1;

    void push_done(Entry* entry) noexcept;
    void collect() noexcept;  // moves pushed completions into ready_
    bool all_reported() const noexcept { return reported_ == entries_.size(); }

    std::unique_ptr<Entry[]> entries_storage_;
    std::vector<Entry*> entries_;
    Atomic<std::uintptr_t> done_head_{0};
    Waker waiter_;
    std::deque<std::size_t> ready_;
    std::size_t reported_ = 0;
};

}  // namespace weft::detail
