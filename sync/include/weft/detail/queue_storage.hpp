// Where a queue keeps its items, by retrieval order: RingStorage (FIFO), StackStorage (LIFO),
// HeapStorage (smallest first). Not synchronised; BasicQueue uses them under its guard.
// Interface: empty(), size(), push(T&&), pop() -> T, swap(other).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace weft::detail {

// A FIFO ring that doubles when full. A bounded queue reserves its maxsize up front, so it
// never allocates after construction.
template <class T>
class RingStorage {
public:
    explicit RingStorage(std::size_t reserve = 0) {
        if (reserve) grow_to(std::bit_ceil(reserve));
    }
    RingStorage(const RingStorage&) = delete;
    RingStorage& operator=(const RingStorage&) = delete;
    ~RingStorage() {
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
    T pop() noexcept(std::is_nothrow_move_constructible_v<T>) {
        T* slot = slots_ + head_;
        T item(std::move(*slot));
        std::destroy_at(slot);
        head_ = (head_ + 1) & mask_;
        --size_;
        return item;
    }
    void swap(RingStorage& other) noexcept {
        std::swap(slots_, other.slots_);
        std::swap(mask_, other.mask_);
        std::swap(head_, other.head_);
        std::swap(size_, other.size_);
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
class StackStorage {
public:
    explicit StackStorage(std::size_t reserve = 0) { items_.reserve(reserve); }
    bool empty() const noexcept { return items_.empty(); }
    std::size_t size() const noexcept { return items_.size(); }
    void push(T&& item) { items_.push_back(std::move(item)); }
    T pop() {
        T item(std::move(items_.back()));
        items_.pop_back();
        return item;
    }
    void swap(StackStorage& other) noexcept { items_.swap(other.items_); }

private:
    std::vector<T> items_;
};

// Smallest first under Compare (asyncio.PriorityQueue pops the lowest entry).
template <class T, class Compare>
class HeapStorage {
public:
    explicit HeapStorage(std::size_t reserve = 0) { items_.reserve(reserve); }
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
    void swap(HeapStorage& other) noexcept { items_.swap(other.items_); }

private:
    // std::*_heap keep the greatest on top; reversing the comparison keeps the smallest.
    auto greater() const {
        return [this](const T& a, const T& b) { return compare_(b, a); };
    }
    std::vector<T> items_;
    [[no_unique_address]] Compare compare_{};
};

}  // namespace weft::detail
