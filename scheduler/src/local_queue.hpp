// A worker's local run queue: a bounded Chase–Lev deque.
//
// The owner pushes and pops at the bottom (newest first: fork-join runs depth-first and
// cache-hot); stealers take from the top (oldest first: the biggest pieces of work).
// Who may call what is in the type: `Owner` for the worker, `Stealer` for the rest.
//
// Memory ordering (after Lê et al., "Correct and efficient work-stealing for weak
// memory models", 2013). The fences of the paper are folded into seq_cst accesses:
// on x86 a seq_cst store is one xchg, far cheaper than mfence, and seq_cst loads are
// plain loads, so stealers pay nothing. Release/acquire on slots and bottom also
// publish the task frame's contents in a form ThreadSanitizer understands.
//  - pop:   bottom = b-1 (seq_cst); read top (seq_cst). The Dekker pair with steal's
//           read top (seq_cst); read bottom (seq_cst) decides the last element, and
//           the CAS on top settles a tie.
//  - push:  bottom = b+1 is seq_cst too: it pairs with a parking worker's seq_cst
//           `sleeping` increment and re-check (runtime_core.hpp), so no fence is needed
//           before reading the idle counts.
//  - steal: CAS top t -> t+1 claims one element; a failed CAS means someone else won.
// Stealing "half" is repeated single steals, so the classic proof still applies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <weft/detail/atomic.hpp>
#include <weft/detail/task_header.hpp>

namespace weft::detail {

class LocalQueue {
public:
#ifdef WEFT_SMALL_QUEUES
    static constexpr std::int64_t kCapacity = 16;
#else
    static constexpr std::int64_t kCapacity = 256;
#endif

    LocalQueue() : slots_(new Atomic<TaskHeader*>[kCapacity]) {}

    // Owner side.
    bool push(TaskHeader* task) noexcept {
        std::int64_t b = bottom_.load(memory_order_relaxed);
        std::int64_t t = top_.load(memory_order_acquire);
        if (b - t >= kCapacity) return false;
        slot(b).store(task, memory_order_release);
        bottom_.store(b + 1, memory_order_seq_cst);
        return true;
    }

    TaskHeader* pop() noexcept {
        std::int64_t b = bottom_.load(memory_order_relaxed) - 1;
        bottom_.store(b, memory_order_seq_cst);
        std::int64_t t = top_.load(memory_order_seq_cst);
        if (t > b) {
            bottom_.store(b + 1, memory_order_release);
            return nullptr;
        }
        TaskHeader* task = slot(b).load(memory_order_acquire);
        if (t == b) {
            if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed)) task = nullptr;
            bottom_.store(b + 1, memory_order_release);
        }
        return task;
    }

    // Any thread, the owner included (the owner uses it to take its oldest task).
    enum class StealResult { kTaken, kEmpty, kLost };
    StealResult steal_one(TaskHeader*& out) noexcept {
        std::int64_t t = top_.load(memory_order_seq_cst);
        std::int64_t b = bottom_.load(memory_order_seq_cst);
        if (t >= b) return StealResult::kEmpty;
        TaskHeader* task = slot(t).load(memory_order_acquire);
        if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed))
            return StealResult::kLost;
        out = task;
        return StealResult::kTaken;
    }

    // Approximate; exact only when called by the owner with no stealer active.
    std::int64_t size() const noexcept {
        std::int64_t b = bottom_.load(memory_order_seq_cst);
        std::int64_t t = top_.load(memory_order_seq_cst);
        return b > t ? b - t : 0;
    }
    bool looks_empty() const noexcept { return size() == 0; }

private:
    Atomic<TaskHeader*>& slot(std::int64_t index) noexcept { return slots_[static_cast<std::size_t>(index & (kCapacity - 1))]; }

    alignas(kCacheLine) Atomic<std::int64_t> top_{0};
    alignas(kCacheLine) Atomic<std::int64_t> bottom_{0};
    std::unique_ptr<Atomic<TaskHeader*>[]> slots_;
};

}  // namespace weft::detail
