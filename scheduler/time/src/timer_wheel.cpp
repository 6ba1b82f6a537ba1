// The cold half of the timing wheel: finding and taking due slots. The invariants are
// numbered in timer_wheel.hpp.
#include "timer_wheel.hpp"

namespace weft::detail {

TimerWheel::TimerWheel(std::uint64_t now) noexcept : elapsed_(now) {
    for (TimerNode& sentinel : rings_) sentinel.prev = sentinel.next = &sentinel;
}

TimerWheel::~TimerWheel() { assert(empty() && "drain() the wheel before destroying it"); }

// Moves all of `from` to the back of `to`, keeping their order.
void TimerWheel::splice_back(std::size_t to, std::size_t from) noexcept {
    TimerNode* src = &rings_[from];
    if (src->next == src) return;
    TimerNode* dst = &rings_[to];
    TimerNode* first = src->next;
    TimerNode* last = src->prev;
    first->prev = dst->prev;
    dst->prev->next = first;
    last->next = dst;
    dst->prev = last;
    src->prev = src->next = src;
    occupied_[from / 64] &= ~bit(from);
    occupied_[to / 64] |= bit(to);
}

std::optional<TimerWheel::Expiration> TimerWheel::next_expiration() const noexcept {
    for (unsigned level = 0; level < kLevels; ++level) {
        const std::uint64_t mask = occupied_[level];
        if (mask == 0) continue;
        const unsigned shift = level * kSlotBits;
        // Search from the slot after e's own: below the top, e's own slot and those behind
        // it are empty (invariant 1); at the top they are the next time round, so last.
        const auto from = (static_cast<unsigned>(elapsed_ >> shift) + 1) & (kSlots - 1);
        const auto slot =
            (static_cast<unsigned>(std::countr_zero(std::rotr(mask, static_cast<int>(from)))) + from) & (kSlots - 1);
        const std::uint64_t level_span = std::uint64_t{1} << (shift + kSlotBits);
        std::uint64_t start = (elapsed_ & ~(level_span - 1)) + (std::uint64_t{slot} << shift);
        // Top level only, a slot at or behind e's own: the next time round (invariant 3).
        // Cannot overflow: its deadlines lie in a later 2^36 block than e.
        if (start <= elapsed_) start += level_span;
        return Expiration{level, level * kSlots + slot, start};
    }
    return std::nullopt;
}

std::optional<std::uint64_t> TimerWheel::next_deadline() const noexcept {
    if (occupied_[kDue / 64] & (bit(kDue) | bit(kFiring))) return elapsed_;
    if (auto expiration = next_expiration()) return expiration->start;
    return std::nullopt;
}

void TimerWheel::collect(std::uint64_t now) noexcept {
    // Nodes left by an on_due that threw are already on the firing ring; the due ring holds
    // deadlines reached before anything still in the slots.
    splice_back(kFiring, kDue);
    if (now <= elapsed_) return;  // every slotted deadline is > elapsed_ >= now

    TimerNode* const scratch = &rings_[kScratch];
    while (auto expiration = next_expiration()) {
        if (expiration->start > now) break;
        elapsed_ = expiration->start;  // nothing occupied lies before it (invariant 1)
        if (expiration->level == 0) {  // invariant 2: all due at this very tick
            splice_back(kFiring, expiration->ring);
            continue;
        }
        // A node may go straight back into this ring (top level), so take it first.
        splice_back(kScratch, expiration->ring);
        while (scratch->next != scratch) {
            TimerNode* node = scratch->next;
            unlink(node);
            const std::uint64_t deadline = node->deadline;  // >= the slot's start
            std::size_t ring = kDeferred;
            if (deadline <= elapsed_) {
                ring = kFiring;
            } else if (deadline <= now) {
                ring = ring_for(deadline);
            }
            link_back(ring, node);
        }
    }

    elapsed_ = now;
    TimerNode* const deferred = &rings_[kDeferred];
    while (deferred->next != deferred) {
        TimerNode* node = deferred->next;
        unlink(node);
        link_back(ring_for(node->deadline), node);  // deadline > now: a slot, not `due`
    }
}

TimerNode* TimerWheel::any_node() noexcept {
    for (std::size_t word = 0; word < kMaskWords; ++word) {
        if (occupied_[word] == 0) continue;
        const std::size_t ring = word * 64 + static_cast<std::size_t>(std::countr_zero(occupied_[word]));
        return rings_[ring].next;
    }
    return nullptr;  // unreachable while size_ != 0
}

}  // namespace weft::detail
