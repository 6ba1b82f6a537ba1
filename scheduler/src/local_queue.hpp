// A worker's local run queue: a bounded work-stealing deque split in two parts.
//
//   top ......... split ......... bottom
//   | public: stealable | private: owner only |
//
// The owner pushes and pops at the bottom (newest first: fork-join runs depth-first and
// cache-hot). Tasks pushed land in the private part, where push and pop are plain
// loads and stores: no fence, no read-modify-write. The owner publishes the private part
// (moves `split` to `bottom`) when the public part has run dry, when a thief asked for
// work (`hungry`), or when some worker is idle (Worker decides): thieves then take the
// oldest public tasks. This is the split deque of Lace (van Dijk and van de Pol, 2014);
// the fences Chase–Lev pays on every push and pop are paid here only per publication
// and when the owner pops a public task.
//
// The public part is a Chase–Lev deque whose bottom is `split` (Lê et al. 2013, the
// fences folded into seq_cst accesses):
//  - owner's public pop: split = s-1 (seq_cst); read top (seq_cst); the CAS on top
//    settles a race for the last element.
//  - steal: read top, split (seq_cst); CAS top t -> t+1 claims one element.
//  - publish: split = bottom is seq_cst: it pairs with a parking worker's seq_cst
//    `sleeping` increment and re-check (runtime_core.hpp).
// Who may call what: "Owner" functions only on the owning worker's thread.
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

    // ---- Owner ----

    // Into the private part; false when full.
    bool push(TaskHeader* task) noexcept {
        std::int64_t b = bottom_.load(memory_order_relaxed);
        std::int64_t t = top_.load(memory_order_acquire);
        if (b - t >= kCapacity) return false;
        slot(b).store(task, memory_order_relaxed);  // published by publish()'s split store
        bottom_.store(b + 1, memory_order_relaxed);
        return true;
    }

    TaskHeader* pop() noexcept {
        std::int64_t b = bottom_.load(memory_order_relaxed);
        std::int64_t s = split_.load(memory_order_relaxed);
        if (b > s) {  // private: nobody else reads these slots
            bottom_.store(b - 1, memory_order_relaxed);
            return slot(b - 1).load(memory_order_relaxed);
        }
        // Public (bottom == split): Chase–Lev pop with split as the bottom.
        s = s - 1;
        split_.store(s, memory_order_seq_cst);
        bottom_.store(s, memory_order_relaxed);
        std::int64_t t = top_.load(memory_order_seq_cst);
        if (t > s) {
            split_.store(s + 1, memory_order_release);
            bottom_.store(s + 1, memory_order_relaxed);
            return nullptr;
        }
        TaskHeader* task = slot(s).load(memory_order_acquire);
        if (t == s) {
            if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed)) task = nullptr;
            split_.store(s + 1, memory_order_release);
            bottom_.store(s + 1, memory_order_relaxed);
        }
        return task;
    }

    // Whether to publish now: the public part is empty while private tasks wait, or a
    // thief found nothing to take and asked.
    bool publish_wanted() const noexcept {
        std::int64_t s = split_.load(memory_order_relaxed);
        if (bottom_.load(memory_order_relaxed) == s) return false;
        return top_.load(memory_order_relaxed) >= s || hungry_.load(memory_order_acquire);
    }
    bool publish_asked() const noexcept { return hungry_.load(memory_order_acquire); }
    bool has_private() const noexcept {
        return bottom_.load(memory_order_relaxed) > split_.load(memory_order_relaxed);
    }

    // Makes every private task stealable. False if there was none.
    bool publish() noexcept {
        if (hungry_.load(memory_order_relaxed)) hungry_.store(false, memory_order_relaxed);
        std::int64_t b = bottom_.load(memory_order_relaxed);
        if (b == split_.load(memory_order_relaxed)) return false;
        split_.store(b, memory_order_seq_cst);
        return true;
    }

    // Exact for the owner: public and private tasks.
    bool looks_empty() const noexcept {
        return bottom_.load(memory_order_relaxed) <= top_.load(memory_order_acquire);
    }

    // ---- Any thread (the owner too, after publish(), to take its oldest tasks) ----

    enum class StealResult { kTaken, kEmpty, kLost };
    StealResult steal_one(TaskHeader*& out) noexcept {
        std::int64_t t = top_.load(memory_order_seq_cst);
        std::int64_t s = split_.load(memory_order_seq_cst);
        if (t >= s) {
            ask_if_private_work(s);
            return StealResult::kEmpty;
        }
        TaskHeader* task = slot(t).load(memory_order_acquire);
        if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed))
            return StealResult::kLost;
        out = task;
        return StealResult::kTaken;
    }

    // Approximate count of stealable tasks.
    std::int64_t stealable() const noexcept {
        std::int64_t s = split_.load(memory_order_seq_cst);
        std::int64_t t = top_.load(memory_order_seq_cst);
        return s > t ? s - t : 0;
    }

    // A worker about to park: true if tasks can be stolen here; if only private ones
    // wait, asks the owner to publish (it notifies when it does).
    bool offers_work() noexcept {
        std::int64_t s = split_.load(memory_order_seq_cst);
        if (top_.load(memory_order_seq_cst) < s) return true;
        ask_if_private_work(s);
        return false;
    }

private:
    Atomic<TaskHeader*>& slot(std::int64_t index) noexcept {
        return slots_[static_cast<std::size_t>(index & (kCapacity - 1))];
    }
    void ask_if_private_work(std::int64_t split) noexcept {
        if (bottom_.load(memory_order_relaxed) > split && !hungry_.load(memory_order_relaxed))
            hungry_.store(true, memory_order_release);
    }

    alignas(kCacheLine) Atomic<std::int64_t> top_{0};
    alignas(kCacheLine) Atomic<std::int64_t> split_{0};
    Atomic<std::int64_t> bottom_{0};  // written by the owner only
    alignas(kCacheLine) Atomic<bool> hungry_{false};
    std::unique_ptr<Atomic<TaskHeader*>[]> slots_;
};

}  // namespace weft::detail
