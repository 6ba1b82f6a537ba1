// A bounded multi-producer multi-consumer ring: the storage of a bounded weft::Queue, so that
// put() and get() without waiting take no lock and producers and consumers touch different
// cache lines (tail_ vs head_). The algorithm is crossbeam's ArrayQueue (after Vyukov's bounded
// MPMC queue): every slot carries a stamp saying which lap it is ready for.
//
// Positions (head_, tail_) are lap | index, where index < capacity and a lap is one_lap_ (the
// power of two above capacity), so any capacity works without division. A slot is
//   writable at position p when  stamp == p       (it was emptied one lap ago)
//   readable at position p when  stamp == p + 1   (written this lap)
// A producer claims position `tail` with a CAS on tail_, writes the item, then publishes it
// with stamp = tail + 1 (release); a consumer claims `head` with a CAS on head_, moves the item
// out, then frees the slot for the next lap with stamp = head + one_lap_ (release). A claimer
// that finds the slot still owned by an operation in progress backs off and retries; "full"
// and "empty" are decided by a seq_cst load of the other side's position.
//
// Memory ordering, and why the queue's lost-wake-up protocol can lean on it: the claiming CAS
// is seq_cst, and the full/empty verdicts come from seq_cst loads (crossbeam uses a fence and
// a relaxed load; a seq_cst load is enough here and is a plain load on x86, where the fence
// cost more than the whole operation). So "push (seq_cst CAS on tail_), then load the waiters
// flag (seq_cst)" against "set the waiters flag (seq_cst RMW), then try_pop (seq_cst load of
// tail_)" cannot both miss: in the single order S either the load of tail_ follows the CAS
// (the consumer sees the item) or it precedes it, and then the flag RMW precedes the
// producer's flag load (the producer sees the waiter). The same holds for pop vs. a putter.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/spin_lock.hpp>

namespace weft::detail {

template <class T>
class MpmcRing {
    static_assert(std::is_nothrow_move_constructible_v<T>, "MpmcRing moves items inside a claimed slot");

public:
    explicit MpmcRing(std::size_t capacity)
        : capacity_(capacity),
          one_lap_(std::bit_ceil(static_cast<std::uint64_t>(capacity) + 1)),
          lap_shift_(std::countr_zero(one_lap_)) {
        slots_ = static_cast<Slot*>(::operator new(sizeof(Slot) * capacity_, std::align_val_t{alignof(Slot)}));
        for (std::size_t i = 0; i < capacity_; ++i) std::construct_at(&slots_[i].stamp, i);
    }
    MpmcRing(const MpmcRing&) = delete;
    MpmcRing& operator=(const MpmcRing&) = delete;
    ~MpmcRing() {
        std::optional<T> item;
        while (try_pop(item)) item.reset();
        for (std::size_t i = 0; i < capacity_; ++i) std::destroy_at(&slots_[i].stamp);
        ::operator delete(slots_, std::align_val_t{alignof(Slot)});
    }

    // Moves `item` in; false (item untouched) if the ring is full. The common case (the slot
    // at tail_ is free and the CAS wins) is inline; contention and "full?" go out of line.
    bool try_push(T& item) noexcept {
        std::uint64_t tail = tail_.load(memory_order_relaxed);
        Slot& slot = slots_[tail & (one_lap_ - 1)];
        std::uint64_t stamp = slot.stamp.load(memory_order_acquire);
        if (stamp == tail &&
            tail_.compare_exchange_strong(tail, advance(tail), memory_order_seq_cst, memory_order_relaxed)) {
            publish(slot, tail, item);
            return true;
        }
        if (stamp + one_lap_ == tail + 1 && head_.load(memory_order_seq_cst) + one_lap_ == tail) return false;  // full
        return push_contended(item);
    }

    // Moves the oldest item into `out`; false if the ring is empty.
    bool try_pop(std::optional<T>& out) noexcept {
        std::uint64_t head = head_.load(memory_order_relaxed);
        Slot& slot = slots_[head & (one_lap_ - 1)];
        std::uint64_t stamp = slot.stamp.load(memory_order_acquire);
        if (stamp == head + 1 &&
            head_.compare_exchange_strong(head, advance(head), memory_order_seq_cst, memory_order_relaxed)) {
            consume(slot, head, out);
            return true;
        }
        if (stamp == head && tail_.load(memory_order_seq_cst) == head) return false;  // empty
        return pop_contended(out);
    }

    // Items ever pushed (positions are lap | index: laps * capacity + index).
    std::uint64_t pushes() const noexcept { return count_of(tail_.load(memory_order_seq_cst)); }
    std::size_t size() const noexcept {
        for (;;) {
            std::uint64_t tail = tail_.load(memory_order_seq_cst);
            std::uint64_t head = head_.load(memory_order_seq_cst);
            if (tail_.load(memory_order_seq_cst) == tail)
                return static_cast<std::size_t>(count_of(tail) - count_of(head));
        }
    }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    struct Slot;

    void publish(Slot& slot, std::uint64_t tail, T& item) noexcept {
        std::construct_at(slot.item(), std::move(item));
        slot.stamp.store(tail + 1, memory_order_release);
    }
    void consume(Slot& slot, std::uint64_t head, std::optional<T>& out) noexcept {
        T* item = slot.item();
        out.emplace(std::move(*item));
        std::destroy_at(item);
        slot.stamp.store(head + one_lap_, memory_order_release);
    }

    [[gnu::noinline]] bool push_contended(T& item) noexcept {
        std::uint64_t tail = tail_.load(memory_order_relaxed);
        for (unsigned spins = 0;;) {
            Slot& slot = slots_[tail & (one_lap_ - 1)];
            std::uint64_t stamp = slot.stamp.load(memory_order_acquire);
            if (stamp == tail) {
                if (tail_.compare_exchange_weak(tail, advance(tail), memory_order_seq_cst, memory_order_relaxed)) {
                    publish(slot, tail, item);
                    return true;
                }
                lost_race(spins);
                continue;  // tail_ moved: the CAS reloaded `tail`
            }
            if (stamp + one_lap_ == tail + 1) {  // the slot holds last lap's item
                if (head_.load(memory_order_seq_cst) + one_lap_ == tail) return false;  // full
            }
            backoff(spins);  // a pop or a push of this slot is in progress
            tail = tail_.load(memory_order_relaxed);
        }
    }

    [[gnu::noinline]] bool pop_contended(std::optional<T>& out) noexcept {
        std::uint64_t head = head_.load(memory_order_relaxed);
        for (unsigned spins = 0;;) {
            Slot& slot = slots_[head & (one_lap_ - 1)];
            std::uint64_t stamp = slot.stamp.load(memory_order_acquire);
            if (stamp == head + 1) {
                if (head_.compare_exchange_weak(head, advance(head), memory_order_seq_cst, memory_order_relaxed)) {
                    consume(slot, head, out);
                    return true;
                }
                lost_race(spins);
                continue;
            }
            if (stamp == head) {  // not written this lap yet
                if (tail_.load(memory_order_seq_cst) == head) return false;  // empty
            }
            backoff(spins);
            head = head_.load(memory_order_relaxed);
        }
    }

    struct Slot {
        Atomic<std::uint64_t> stamp;
        alignas(T) unsigned char bytes[sizeof(T)];
        T* item() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
    };

    std::uint64_t advance(std::uint64_t position) const noexcept {
        std::uint64_t index = position & (one_lap_ - 1);
        return index + 1 < capacity_ ? position + 1 : (position & ~(one_lap_ - 1)) + one_lap_;
    }
    std::uint64_t count_of(std::uint64_t position) const noexcept {
        return (position >> lap_shift_) * capacity_ + (position & (one_lap_ - 1));
    }
    // Another claimer's CAS won: it is running, so spin (never yield) before the next try,
    // longer after each loss. Without this, same-role tasks on two cores retry at once and
    // bounce head_/tail_ and the slots' lines on every attempt; with it, the winner's core
    // keeps the lines for a burst. Losses also count towards backoff()'s yield: a ring this
    // contended is better served by yielding sooner to a slot's unfinished owner. Measured on
    // the queue bench (4P/4C, 2 cores): 14-16M -> 120-125M items/s (yielding on losses
    // instead: 108-117M; separate counters: 110-114M).
    static void lost_race(unsigned& spins) noexcept {
        for (unsigned i = 0; i < (1u << (spins < 6 ? spins : 6)); ++i) cpu_relax();
        ++spins;
    }
    // The slot is mid-operation: its owner may have been preempted, so yield after a while.
    static void backoff(unsigned& spins) noexcept {
        if (spins < 6) {
            for (unsigned i = 0; i < (1u << spins); ++i) cpu_relax();
        } else {
            std::this_thread::yield();  // the other side was preempted mid-operation
        }
        ++spins;
    }

    // Read-only after construction, then head_ and tail_ each on a cache line of its own.
    // Padding rather than alignas: queues live in coroutine frames, which are not
    // over-aligned, so the padding is what keeps the lines apart.
    Slot* slots_;
    std::size_t capacity_;
    std::uint64_t one_lap_;
    int lap_shift_;
    [[maybe_unused]] char pad0_[kCacheLine];
    Atomic<std::uint64_t> head_{0};  // consumers' position
    [[maybe_unused]] char pad1_[kCacheLine - sizeof(Atomic<std::uint64_t>)];
    Atomic<std::uint64_t> tail_{0};  // producers' position
    [[maybe_unused]] char pad2_[kCacheLine - sizeof(Atomic<std::uint64_t>)];
};

}  // namespace weft::detail
