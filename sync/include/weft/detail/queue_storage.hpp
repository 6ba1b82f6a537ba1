// Where a queue keeps its items. BasicQueue (basic_queue.hpp) talks to a storage through:
//   lock_free()        may try_push/try_pop run without the queue's guard? (then the fast
//                      paths call ring_push/ring_pop, the same without the dispatch)
//   try_push(T&)       moves the item in; false (item untouched) when full
//   try_pop(optional&) moves the next item out; false when empty
//   size(), capacity() (0: unbounded), pushes() (items ever pushed: monotonic, for join())
//   clear()            destroys every item, returns how many
// Storages:
//   FifoStorage   Queue: a lock-free MpmcRing when bounded (and T moves without throwing),
//                 else a growable ring under the guard
//   LockedStorage<Container> LifoQueue (StackContainer), PriorityQueue (HeapContainer),
//                 BackpressureQueue (RingContainer): always under the guard
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/mpmc_ring.hpp>

namespace weft::detail {

// A FIFO ring that doubles when full (not synchronised).
template <class T>
class RingContainer {
public:
    explicit RingContainer(std::size_t reserve = 0) {
        if (reserve) grow_to(std::bit_ceil(reserve));
    }
    RingContainer(const RingContainer&) = delete;
    RingContainer& operator=(const RingContainer&) = delete;
    ~RingContainer() {
        while (!empty()) pop();
        if (slots_) std::allocator<T>().deallocate(slots_, mask_ + 1);
    }

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    void push(T&& item) {
        if (size_ == capacity()) grow_to(capacity() ? capacity() * 2 : 16);
        std::construct_at(slots_ + ((head_ + size_) & mask_), std::move(item));
        ++size_;
    }
    T pop() {
        T* slot = slots_ + head_;
        T item(std::move(*slot));
        std::destroy_at(slot);
        head_ = (head_ + 1) & mask_;
        --size_;
        return item;
    }

private:
    std::size_t capacity() const noexcept { return slots_ ? mask_ + 1 : 0; }
    void grow_to(std::size_t capacity) {
        T* slots = std::allocator<T>().allocate(capacity);
        for (std::size_t i = 0; i < size_; ++i) {
            T* from = slots_ + ((head_ + i) & mask_);
            std::construct_at(slots + i, std::move(*from));
            std::destroy_at(from);
        }
        if (slots_) std::allocator<T>().deallocate(slots_, mask_ + 1);
        slots_ = slots;
        mask_ = capacity - 1;
        head_ = 0;
    }

    T* slots_ = nullptr;
    std::size_t mask_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

template <class T>
class StackContainer {
public:
    explicit StackContainer(std::size_t reserve = 0) { items_.reserve(reserve); }
    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) { items_.push_back(std::move(item)); }
    T pop() {
        T item(std::move(items_.back()));
        items_.pop_back();
        return item;
    }

private:
    std::vector<T> items_;
};

// Smallest first under Compare (asyncio.PriorityQueue pops the lowest entry).
template <class T, class Compare>
class HeapContainer {
public:
    explicit HeapContainer(std::size_t reserve = 0) { items_.reserve(reserve); }
    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) {
        items_.push_back(std::move(item));
        std::push_heap(items_.begin(), items_.end(), greater());
    }
    T pop() {
        std::pop_heap(items_.begin(), items_.end(), greater());
        T item(std::move(items_.back()));
        items_.pop_back();
        return item;
    }

private:
    // std::*_heap keep the greatest on top; reversing the comparison keeps the smallest.
    auto greater() const {
        return [this](const T& a, const T& b) { return compare_(b, a); };
    }
    std::vector<T> items_;
    [[no_unique_address]] Compare compare_{};
};

// Memory a queue may take up front for its bound: a bound is a limit, not an allocation
// (asyncio's costs nothing until items come; Queue(10**6) or maxsize=-1, SIZE_MAX here, are
// common). A bounded FIFO queue whose slots fit in this is lock-free, its ring made at once;
// a larger bound gets the growable ring under the guard, as an unbounded queue does.
inline constexpr std::size_t kEagerQueueBytes = std::size_t{1} << 20;

// A container used under the queue's guard, with the queue's bound.
template <class T, class Container>
class LockedStorage {
public:
    explicit LockedStorage(std::size_t maxsize)
        : items_(std::min(maxsize, kEagerQueueBytes / sizeof(T))), maxsize_(maxsize) {}

    static constexpr bool lock_free() noexcept { return false; }
    bool ring_push(T&) noexcept { return false; }  // never called: not lock-free
    bool ring_pop(std::optional<T>&) noexcept { return false; }
    bool try_push(T& item) {
        if (maxsize_ != 0 && items_.size() >= maxsize_) return false;
        items_.push(std::move(item));
        pushes_.store(pushes_.load(memory_order_relaxed) + 1, memory_order_release);  // only under the guard
        return true;
    }
    bool try_pop(std::optional<T>& out) {
        if (items_.empty()) return false;
        out.emplace(items_.pop());
        return true;
    }
    std::size_t size() const noexcept { return items_.size(); }
    std::size_t capacity() const noexcept { return maxsize_; }
    std::uint64_t pushes() const noexcept { return pushes_.load(memory_order_seq_cst); }
    std::size_t clear() {
        std::size_t count = items_.size();
        while (!items_.empty()) items_.pop();
        return count;
    }

private:
    Container items_;
    std::size_t maxsize_;
    Atomic<std::uint64_t> pushes_{0};  // written under the guard, read by task_done()/join()
};

// Queue's storage: lock-free when bounded, a growable ring under the guard when unbounded.
template <class T>
class FifoStorage {
    static constexpr bool kRingable = std::is_nothrow_move_constructible_v<T>;

public:
    explicit FifoStorage(std::size_t maxsize)
        : lock_free_(kRingable && maxsize != 0 && maxsize <= kEagerQueueBytes / (sizeof(T) + sizeof(std::uint64_t))) {
        if constexpr (kRingable) {
            if (lock_free_) {
                ring_.emplace(maxsize);
                return;
            }
        }
        locked_.emplace(maxsize);
    }

    bool lock_free() const noexcept { return lock_free_; }
    bool ring_push(T& item) noexcept { return ring().try_push(item); }
    bool ring_pop(std::optional<T>& out) noexcept { return ring().try_pop(out); }
    bool try_push(T& item) { return lock_free_ ? ring().try_push(item) : locked_->try_push(item); }
    bool try_pop(std::optional<T>& out) { return lock_free_ ? ring().try_pop(out) : locked_->try_pop(out); }
    std::size_t size() const noexcept { return lock_free_ ? ring().size() : locked_->size(); }
    std::size_t capacity() const noexcept { return lock_free_ ? ring().capacity() : locked_->capacity(); }
    std::uint64_t pushes() const noexcept { return lock_free_ ? ring().pushes() : locked_->pushes(); }
    std::size_t clear() {
        if (!lock_free_) return locked_->clear();
        std::size_t count = 0;
        for (std::optional<T> item; ring().try_pop(item); item.reset()) ++count;
        return count;
    }

private:
    using Ring = std::conditional_t<kRingable, MpmcRing<T>, LockedStorage<T, RingContainer<T>>>;
    Ring& ring() noexcept { return *ring_; }
    const Ring& ring() const noexcept { return *ring_; }

    bool lock_free_;
    std::optional<Ring> ring_;
    std::optional<LockedStorage<T, RingContainer<T>>> locked_;
};

}  // namespace weft::detail
