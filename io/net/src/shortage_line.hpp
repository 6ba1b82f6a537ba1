// The line of acceptors short of descriptors (accept.cpp's turn-taking under EMFILE).
#pragma once

#include <cstddef>
#include <mutex>

#include <weft/detail/atomic.hpp>

namespace weft::net::detail {

// The acceptors (of every listener in the process) that are short of descriptors, in the
// order they ran short. Descriptors are a per-process resource (EMFILE; ENFILE is system
// wide), so when some come back every listener competes for them; with separate back-offs
// the listener that had just accepted retried in 5 ms while the others slept up to 500 ms,
// and took every descriptor that came free for as long as it had connections queued
// (issue 16: older connections on the other listener waited 70 s). Instead only the first
// acceptor in this line calls accept4(); once it has a connection it leaves, and its next
// accept joins at the back if others are still waiting, so the listeners take turns,
// oldest shortage first. An acceptor whose backlog turns out empty leaves and waits for
// readiness as usual. While the line is empty (the normal case) accepting costs one
// relaxed load more.
//   ShortageLine::Place place;      // in the acceptor's frame: waiting allocates nothing
//   line.join(place);               // after EMFILE, or when others are already waiting
//   if (line.first(place)) ...      // only the first retries accept4()
//   line.leave(place);              // accepted, backlog empty, or cancelled (idempotent)
// Memory: the list is guarded by mutex_; size_ is read relaxed, so a stale zero only lets
// one accept take the usual path once. Only a place's owner joins or leaves it.
class ShortageLine {
public:
    struct Place {
        Place* prev = nullptr;
        Place* next = nullptr;
        bool joined = false;
    };

    bool empty() const noexcept { return size_.load(weft::detail::memory_order_relaxed) == 0; }

    void join(Place& place) {
        std::lock_guard lock(mutex_);
        if (place.joined) return;
        place.joined = true;
        place.next = nullptr;
        place.prev = tail_;
        if (tail_) tail_->next = &place;
        else head_ = &place;
        tail_ = &place;
        size_.fetch_add(1, weft::detail::memory_order_relaxed);
    }

    void leave(Place& place) noexcept {
        std::lock_guard lock(mutex_);
        if (!place.joined) return;
        place.joined = false;
        if (place.prev) place.prev->next = place.next;
        else head_ = place.next;
        if (place.next) place.next->prev = place.prev;
        else tail_ = place.prev;
        size_.fetch_sub(1, weft::detail::memory_order_relaxed);
    }

    bool first(const Place& place) {
        std::lock_guard lock(mutex_);
        return head_ == &place;
    }

private:
    std::mutex mutex_;  // taken only while some acceptor is short of descriptors
    Place* head_ = nullptr;
    Place* tail_ = nullptr;
    weft::detail::Atomic<std::size_t> size_{0};
};

inline ShortageLine& shortage_line() {
    static ShortageLine line;
    return line;
}

}  // namespace weft::net::detail
