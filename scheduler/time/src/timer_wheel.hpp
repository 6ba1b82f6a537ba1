// The timers of one worker loop: a hierarchical timing wheel (DESIGN.md "Time").
//
//   struct Sleep : TimerNode { TaskHeader* task; };      // the entry embeds the node
//   TimerWheel wheel(now_ms);
//   sleep.deadline = now_ms + 250; wheel.insert(&sleep);
//   if (auto t = wheel.next_deadline()) park_until(*t);  // may wake early: just loop
//   wheel.advance(now_ms, [&](TimerNode* n) { wake(static_cast<Sleep*>(n)->task); });
//
// Owner thread only, no atomics: a timer is armed on the wheel of the worker its task runs
// on, and a cancel from another thread never touches the wheel: it marks the entry and
// queues it on the owner's remote-disarm list (Worker::disarm_remote), which the owner
// drains.
// Intrusive and allocation-free: the wheel only links the caller's nodes; a node lives
// in at most one wheel at a time and must stay alive while linked.
//
// Layout, after Tokio's wheel: 6 levels of 64 slots; a slot of level L spans 64^L ticks
// (1 tick = 1 ms), so the wheel sees 64^6 = 2^36 ticks (~2.2 years) ahead. Every slot is
// a circular doubly-linked list around a sentinel node stored in the wheel, so remove()
// needs nothing but the node: it unlinks in O(1), and when only a sentinel is left its
// index says which bit of the per-level occupancy masks to clear.
//
// Invariants, with e = elapsed():
//  1. A node with deadline d > e sits at level L = (highest bit where e and d differ) / 6,
//     capped at 5, in slot (d >> 6L) & 63. Below the top level that slot lies after e's own
//     slot of level L and inside e's slot of level L+1, so every node of level L is due
//     before any node of a higher level: the next expiration is the first occupied slot
//     after e's own (rotate + countr_zero) of the lowest non-empty level.
//  2. A level-0 slot is one tick: all its nodes are due exactly at the slot's tick.
//  3. The top level is a ring. A deadline in a later 2^36-tick block than e (which may be
//     just 1 tick away, or years) goes to slot (d >> 30) & 63 there: the next start of that
//     slot after e is never later than d. e's own top slot thus comes round last, 2^36
//     ticks on. When a top slot comes due, its nodes are placed again.
//  4. advance(now) never moves e past the start of an occupied slot. It moves e to each
//     due slot start in turn and takes the slot: nodes whose deadline is reached are queued
//     for delivery, nodes due later in this advance are placed again relative to the new e
//     (always lower, or once more around the top ring), and nodes due after `now` are set
//     aside and placed relative to `now` at the end. That restores 1 after every step.
//  5. Nodes whose deadline is reached wait on two more rings, in the order they came due:
//     `due` (inserted with d <= e; delivered by the next advance()) and `firing` (being
//     delivered by this advance()). So delivery follows deadline order, except that a node
//     inserted already due counts as due at the elapsed() of its insertion.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace weft::detail {

// Derive the timer entry from it. prev/next belong to the wheel while linked().
struct TimerNode {
    TimerNode* prev = nullptr;
    TimerNode* next = nullptr;
    std::uint64_t deadline = 0;  // absolute tick, on the wheel's clock; set before insert()

    bool linked() const noexcept { return prev != nullptr; }
};

class TimerWheel {
public:
    static constexpr unsigned kLevels = 6;
    static constexpr unsigned kSlotBits = 6;
    static constexpr unsigned kSlots = 1u << kSlotBits;
    // Deadlines further ahead than this are parked in the top level and placed again
    // each time around (invariant 3).
    static constexpr std::uint64_t kRange = std::uint64_t{1} << (kLevels * kSlotBits);

    explicit TimerWheel(std::uint64_t now = 0) noexcept;
    ~TimerWheel();  // the wheel must be empty: drain() first
    TimerWheel(const TimerWheel&) = delete;
    TimerWheel& operator=(const TimerWheel&) = delete;

    // O(1). The node must not be linked. A deadline <= elapsed() is delivered by the
    // next advance(), whatever its `now`.
    void insert(TimerNode* node) noexcept {
        assert(node != nullptr && !node->linked());
        link_back(ring_for(node->deadline), node);
        ++size_;
    }

    // O(1). The node must be linked in this wheel; it is unlinked and never delivered.
    void remove(TimerNode* node) noexcept {
        assert(node != nullptr && node->linked());
        unlink(node);
        --size_;
    }

    // Moves elapsed() to `now` (a smaller `now` leaves it) and calls on_due(TimerNode*) for
    // every node whose deadline <= now, once each, in deadline order (invariant 5), with
    // the node unlinked before the call. Returns how many nodes were delivered.
    // on_due may free its node and may insert or remove any node: a removed node that was
    // due is not delivered; a node inserted with deadline <= now waits for the next
    // advance() (elapsed() is already `now` during the calls), so re-arming cannot loop.
    // If on_due throws, the nodes not yet delivered stay linked and go first next time.
    // Cost: O(occupied slots whose start <= now + nodes taken from them).
    template <class F>
    std::size_t advance(std::uint64_t now, F&& on_due) {
        collect(now);
        std::size_t delivered = 0;
        TimerNode* const firing = &rings_[kFiring];
        while (firing->next != firing) {
            TimerNode* node = firing->next;
            unlink(node);
            --size_;
            ++delivered;
            on_due(node);
        }
        return delivered;
    }

    // A tick no later than the earliest deadline, for how long the loop may sleep; nullopt
    // when empty. Exact when the earliest node is at level 0; otherwise the start of its
    // slot, where advance() moves it down, and the caller asks again. elapsed() when some
    // node is already due.
    std::optional<std::uint64_t> next_deadline() const noexcept;

    std::uint64_t elapsed() const noexcept { return elapsed_; }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }

    // Unlinks every node and hands it to fn(TimerNode*) (shutdown); fn may free it. Nodes
    // that fn inserts are drained too, so fn must not re-insert forever.
    template <class F>
    void drain(F&& fn) {
        while (size_ != 0) {
            TimerNode* node = any_node();
            unlink(node);
            --size_;
            fn(node);
        }
    }

private:
    // Ring indices: slot rings first (level * kSlots + slot), then the ones of invariants
    // 4 and 5. The masks have one bit per ring, so a ring's bit is occupied_[i / 64].
    static constexpr std::size_t kDue = kLevels * kSlots;
    static constexpr std::size_t kFiring = kDue + 1;
    static constexpr std::size_t kScratch = kDue + 2;   // the slot advance() is taking
    static constexpr std::size_t kDeferred = kDue + 3;  // taken, due after this advance()
    static constexpr std::size_t kRings = kDue + 4;
    static constexpr std::size_t kMaskWords = (kRings + 63) / 64;

    struct Expiration {
        unsigned level;
        std::size_t ring;
        std::uint64_t start;
    };

    static constexpr std::uint64_t bit(std::size_t ring) noexcept { return std::uint64_t{1} << (ring % 64); }

    // Invariant 1, or the due ring.
    std::size_t ring_for(std::uint64_t deadline) const noexcept {
        if (deadline <= elapsed_) return kDue;
        auto level = static_cast<unsigned>(std::bit_width(elapsed_ ^ deadline) - 1) / kSlotBits;
        if (level >= kLevels) level = kLevels - 1;
        return level * kSlots + ((deadline >> (level * kSlotBits)) & (kSlots - 1));
    }

    void link_back(std::size_t ring, TimerNode* node) noexcept {
        TimerNode* head = &rings_[ring];
        node->prev = head->prev;
        node->next = head;
        head->prev->next = node;
        head->prev = node;
        occupied_[ring / 64] |= bit(ring);
    }

    void unlink(TimerNode* node) noexcept {
        TimerNode* prev = node->prev;
        TimerNode* next = node->next;
        prev->next = next;
        next->prev = prev;
        if (prev == next) {  // a ring of one: only its sentinel is left
            auto ring = static_cast<std::size_t>(prev - rings_);
            occupied_[ring / 64] &= ~bit(ring);
        }
        node->prev = nullptr;
        node->next = nullptr;
    }

    void splice_back(std::size_t to, std::size_t from) noexcept;
    std::optional<Expiration> next_expiration() const noexcept;
    void collect(std::uint64_t now) noexcept;  // invariant 4: fills the firing ring
    TimerNode* any_node() noexcept;

    std::uint64_t elapsed_;
    std::size_t size_ = 0;
    std::uint64_t occupied_[kMaskWords] = {};
    TimerNode rings_[kRings];  // sentinels: linked to themselves when empty
};

}  // namespace weft::detail
