// A worker's local run queue: a bounded Chase–Lev deque split into a public and a
// private part (after Van Dijk and Van de Pol's Lace, 2014).
//
//      top_              split_              bottom_
//       | public: stealable | private: owner's  |
//
// The owner pushes and pops at the bottom (newest first: fork-join runs depth-first and
// cache-hot); stealers take from the top (oldest first: the biggest pieces of work), and
// only below split_. So the owner's push and pop of a private task are plain stores:
// no fence, no read-modify-write, which is most of what a fine-grained task costs.
// Tasks become public when the owner moves split_ up:
//  - on push, when the public part looks empty (a stealer took everything): a worker
//    that spawns always has something stealable; and when some worker is idle;
//  - on push, or before the owner's next pop, when a stealer that found the public part
//    empty asked for more (split_requested_): the older half of the private part.
// The owner may also take a task out of the middle of its private part (take_private:
// an awaited child runs inline); the newest private task moves into its slot.
// Private tasks wait for their owner's next push or pop, so a task that spawns while
// every worker is busy and then computes (or blocks) for long without suspending holds
// them back (as Tokio's LIFO slot holds one). The owner never parks while it has any.
//
// On the public part the owner's pop is Chase–Lev's with split_ as its bottom (Lê et
// al., "Correct and efficient work-stealing for weak memory models", 2013): the fences
// are folded into seq_cst accesses (on x86 a seq_cst store is one xchg, and seq_cst
// loads are plain loads, so stealers pay nothing). A publish is a seq_cst store of
// split_: it pairs with a parking worker's seq_cst `sleeping` increment and re-check
// (idle_counts.hpp), so the owner may then read the idle counts without a fence.
// The inline spawn (try_push_private) skips push()'s tests while bottom_ is below
// push_limit_, which everything that needs a publish pokes to 0.
// Release/acquire on split_ publishes the task frames in a form ThreadSanitizer follows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <weft/detail/atomic.hpp>
#include <weft/detail/build_config.hpp>
#include <weft/detail/task_header.hpp>

namespace weft::detail {

class LocalQueue {
public:
    static constexpr std::int64_t kCapacity = WEFT_CHECK_OR(16, 256);  // a power of two

    LocalQueue() : slots_(new Atomic<TaskHeader*>[kCapacity]) {}

    // ---- owner side ---------------------------------------------------------------------

    enum class Push { kPrivate, kPublished, kFull };
    // `publish`: make tasks stealable now (some worker is idle). kPublished: tasks
    // became stealable, so the caller should wake a worker.
    Push push(TaskHeader* task, bool publish) noexcept {
        std::int64_t b = bottom_.load(memory_order_relaxed);
        std::int64_t t = top_.load(memory_order_relaxed);  // stale is smaller: safe for both tests
        if (b - t >= kCapacity) return Push::kFull;
        slot(b).store(task, memory_order_relaxed);  // published, if ever, by a release of split_
        task->queue_slot.store(static_cast<std::uint32_t>(b), memory_order_relaxed);
        bottom_.store(b + 1, memory_order_relaxed);
        if (publish) {  // everything: the idle may take what they like
            clear_split_request();
            publish_all();
            return Push::kPublished;
        }
        if (t < split_.load(memory_order_relaxed) && !split_requested()) return Push::kPrivate;
        return publish_requested() ? Push::kPublished : Push::kPrivate;
    }

    // push() when it would be kPrivate without publishing, for the inline spawn path
    // (fork_join.hpp): one compare with push_limit_ stands for push()'s tests (room in the
    // ring, a public part that is not empty, no split request, no idle worker). False
    // (nothing done): call push().
    bool try_push_private(TaskHeader* task) noexcept {
        std::int64_t b = bottom_.load(memory_order_relaxed);
        if (b >= push_limit_.load(memory_order_relaxed)) return false;
        slot(b).store(task, memory_order_relaxed);
        task->queue_slot.store(static_cast<std::uint32_t>(b), memory_order_relaxed);
        bottom_.store(b + 1, memory_order_relaxed);
        return true;
    }

    // The newest task, or nullptr when empty.
    TaskHeader* pop() noexcept {
        std::int64_t s = split_.load(memory_order_relaxed);
        std::int64_t b = bottom_.load(memory_order_relaxed);
        if (b > s) {  // private: nobody else may touch it
            bottom_.store(b - 1, memory_order_relaxed);
            return slot(b - 1).load(memory_order_relaxed);
        }
        // The private part is empty (b == s). Empty for sure if the stealers have reached
        // split_ (top_ only grows); else take the newest public task, racing the stealers
        // for the last one.
        if (top_.load(memory_order_relaxed) >= s) return nullptr;
        publish_on_next_push();  // the public part shrinks, maybe to nothing
        b = s - 1;
        split_.store(b, memory_order_seq_cst);
        std::int64_t t = top_.load(memory_order_seq_cst);
        if (t > b) {
            split_.store(b + 1, memory_order_release);
            return nullptr;
        }
        TaskHeader* task = slot(b).load(memory_order_relaxed);
        if (t == b) {
            if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed)) task = nullptr;
            split_.store(b + 1, memory_order_release);
            return task;  // bottom_ stays b + 1: empty either way
        }
        bottom_.store(b, memory_order_relaxed);
        return task;
    }

    // Takes `task` out of the private part if it is there. For the fork-join path: a child
    // awaited while still unstarted runs inline, wherever it sits among its siblings.
    // (queue_slot says where to look; the slot's content says whether it is there.) The
    // newest private task moves into its place: no holes, so no scan over them whose
    // length varies with the fan-out (a mispredicted branch per join in nqueens). The
    // newest itself is taken as a pop, without the move's write (skynet: 6% slower).
    bool take_private(TaskHeader* task) noexcept {
        std::int64_t s = split_.load(memory_order_relaxed);
        std::int64_t b = bottom_.load(memory_order_relaxed);
        // The slot is kept modulo 2^32: a task still in the ring sits less than kCapacity
        // below b, so b minus the wrapped distance is its position; for any other the
        // slot's content tells.
        std::uint32_t distance = static_cast<std::uint32_t>(b) - task->queue_slot.load(memory_order_relaxed);
        std::int64_t i = b - static_cast<std::int64_t>(distance);
        if (i < s || i >= b || slot(i).load(memory_order_relaxed) != task) return false;
        if (i != b - 1) {
            TaskHeader* newest = slot(b - 1).load(memory_order_relaxed);
            slot(i).store(newest, memory_order_relaxed);
            newest->queue_slot.store(static_cast<std::uint32_t>(i), memory_order_relaxed);
        }
        bottom_.store(b - 1, memory_order_relaxed);
        return true;
    }
    // Pushes that fit before the ring is full (owner only; a stale top_ only under-counts).
    std::int64_t room() const noexcept {
        return kCapacity - (bottom_.load(memory_order_relaxed) - top_.load(memory_order_relaxed));
    }
    bool private_empty() const noexcept {
        return bottom_.load(memory_order_relaxed) == split_.load(memory_order_relaxed);
    }

    // Whether a stealer found the public part empty and asked for work.
    bool split_requested() const noexcept { return split_requested_.load(memory_order_relaxed); }
    // Answers that request: publishes the older half of the private part. True if anything
    // was published (the caller should wake a worker).
    bool publish_requested() noexcept {
        clear_split_request();
        std::int64_t s = split_.load(memory_order_relaxed);
        std::int64_t count = bottom_.load(memory_order_relaxed) - s;
        if (count <= 0) return false;
        split_.store(s + (count + 1) / 2, memory_order_seq_cst);
        return true;
    }

    // Until push() runs again, try_push_private refuses. Called by a stealer that emptied
    // the public part or asks for more, by the owner when it takes from the public part,
    // and by the runtime for every worker when a worker goes idle or the runtime stops,
    // each after making its reason visible (a seq_cst write: top_'s CAS, the request, the
    // idle count). A poke may land just before push() stores a raised limit and be
    // overwritten: so the owner, after raising it, fences and looks at the reasons again
    // (allow_private_pushes(), Worker::confirm_private_pushes): Dekker's pattern, with
    // this seq_cst load and store as the other side. Pokes are rare; they may be dear.
    void publish_on_next_push() noexcept {
        if (push_limit_.load(memory_order_seq_cst) != 0) push_limit_.store(0, memory_order_seq_cst);
    }

    // After a push() for a spawn: try_push_private may go on until the ring could fill,
    // unless the next push must publish (`idle`: some worker idle; nothing stealable; a
    // split request). True if it raised the limit from 0: the owner must then confirm it
    // (see publish_on_next_push). Only spawns raise it, so a worker that never spawns (it
    // only wakes tasks) never pays for the confirmation.
    bool allow_private_pushes(bool idle) noexcept {
        // (top_ only grows: a read after wants_publish()'s still bounds the room in the ring.)
        std::int64_t limit = idle || wants_publish() ? 0 : top_.load(memory_order_relaxed) + kCapacity;
        std::int64_t current = push_limit_.load(memory_order_relaxed);
        if (current == limit) return false;
        push_limit_.store(limit, memory_order_relaxed);
        return current == 0;
    }
    // The queue's own reasons to publish, looked at again when confirming.
    bool wants_publish() const noexcept {
        return top_.load(memory_order_seq_cst) >= split_.load(memory_order_relaxed) || split_requested();
    }

    // Everything becomes stealable (before the owner steals its own oldest tasks).
    void publish_all() noexcept {
        std::int64_t b = bottom_.load(memory_order_relaxed);
        if (split_.load(memory_order_relaxed) != b) split_.store(b, memory_order_seq_cst);
    }

    // Exact for the owner: public and private tasks.
    bool owner_empty() const noexcept { return bottom_.load(memory_order_relaxed) <= top_.load(memory_order_acquire); }

    // ---- any thread ----------------------------------------------------------------------

    // Takes the oldest public task (kLost: try again). The owner uses it too (after
    // publish_all()).
    enum class StealResult { kTaken, kEmpty, kLost };
    StealResult steal_one(TaskHeader*& out) noexcept {
        std::int64_t t = top_.load(memory_order_seq_cst);
        std::int64_t s = split_.load(memory_order_seq_cst);
        if (t >= s) {
            request_split(s);
            return StealResult::kEmpty;
        }
        TaskHeader* task = slot(t).load(memory_order_acquire);
        if (!top_.compare_exchange_strong(t, t + 1, memory_order_seq_cst, memory_order_relaxed))
            return StealResult::kLost;  // another took it
        if (t + 1 >= s) publish_on_next_push();  // we took the last public task
        out = task;
        return StealResult::kTaken;
    }

    // Stealable tasks (approximate unless called by the owner with no stealer active).
    std::int64_t size() const noexcept {
        std::int64_t s = split_.load(memory_order_seq_cst);
        std::int64_t t = top_.load(memory_order_seq_cst);
        return s > t ? s - t : 0;
    }
    bool looks_empty() const noexcept { return size() == 0; }
    // Every queued task, public and private: a moment's figure, for metrics (any thread).
    std::int64_t depth() const noexcept {
        std::int64_t queued = bottom_.load(memory_order_relaxed) - top_.load(memory_order_relaxed);
        return queued > 0 ? queued : 0;
    }

private:
    Atomic<TaskHeader*>& slot(std::int64_t index) noexcept {
        return slots_[static_cast<std::size_t>(index & (kCapacity - 1))];
    }

    void clear_split_request() noexcept {
        if (split_requested_.load(memory_order_relaxed)) split_requested_.store(false, memory_order_relaxed);
    }

    // Asks the owner for more, once, and only if it has private tasks (its bottom_ is
    // written relaxed for this look).
    void request_split(std::int64_t s) noexcept {
        if (bottom_.load(memory_order_relaxed) > s && !split_requested_.load(memory_order_relaxed)) {
            split_requested_.store(true, memory_order_seq_cst);
            publish_on_next_push();
        }
    }

    alignas(kCacheLine) Atomic<std::int64_t> top_{0};
    alignas(kCacheLine) Atomic<std::int64_t> split_{0};
    Atomic<bool> split_requested_{false};
    alignas(kCacheLine) Atomic<std::int64_t> bottom_{0};  // the owner's; stealers only peek
    // try_push_private's bound (0 until the first push()), beside bottom_: the inline push
    // reads one line. Others write it only to poke it to 0, and only when it is not.
    Atomic<std::int64_t> push_limit_{0};
    std::unique_ptr<Atomic<TaskHeader*>[]> slots_;
};

}  // namespace weft::detail
