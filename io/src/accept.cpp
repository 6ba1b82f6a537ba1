#include <weft/net/detail/accept.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>

#include <weft/net/detail/io_awaiter.hpp>
#include <weft/net/detail/ops.hpp>
#include <weft/sleep.hpp>

namespace weft::net::detail {

namespace {

using namespace std::chrono_literals;

constexpr auto kFirstPause = 5ms;
constexpr auto kLongestPause = 500ms;
constexpr auto kTurnCheck = 5ms;  // how often an acceptor waiting for its turn looks

bool out_of_resources(int err) noexcept {
    return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM;
}

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

ShortageLine& shortage_line() {
    static ShortageLine line;
    return line;
}

// An acceptor's place in the line; leaves it however accept_fd() ends (a cancelled
// acceptor must not hold up the others).
struct Turn {
    ShortageLine& line;
    ShortageLine::Place place;
    ~Turn() { line.leave(place); }
};

}  // namespace

Task<int> accept_fd(Descriptor& listener, weft::detail::Atomic<std::uint64_t>& backoffs) {
    auto pause = std::chrono::milliseconds(kFirstPause);
    int pauses = 0;
    int shortage = 0;
    Clock::time_point paused_at{};
    Turn turn{shortage_line(), {}};
    for (;;) {
        int fd;
        if (!turn.place.joined && turn.line.empty()) {
            fd = co_await IoAwaiter<AcceptOp>(listener, AcceptOp{listener.fd()});  // the usual path
        } else {
            turn.line.join(turn.place);  // others ran short first: wait for our turn
            if (!turn.line.first(turn.place)) {
                co_await weft::sleep(kTurnCheck);
                continue;
            }
            listener.require_open();
            IoSource* source = listener.source();
            std::optional<int> got = AcceptOp{listener.fd()}.step(source);
            if (!got) {  // nothing queued here: let the next listener try, wait for a connection
                turn.line.leave(turn.place);
                co_await source->ready(Interest::read);
                continue;
            }
            fd = *got;
        }
        if (fd >= 0) {
            turn.line.leave(turn.place);  // the next acceptor in line goes next
            if (pauses > 0) {  // logged now that descriptors are free again (see accept.hpp)
                auto paused_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now() - paused_at).count();
                spdlog::warn("weft::net: accept on fd {} paused {} time(s) over {} ms: {}; serving again",
                             listener.fd(), pauses, paused_ms, std::strerror(shortage));
            }
            co_return fd;
        }
        int err = -fd;
        if (!out_of_resources(err)) continue;  // that connection is gone
        turn.line.join(turn.place);
        if (pauses++ == 0) paused_at = now();
        shortage = err;
        backoffs.fetch_add(1, weft::detail::memory_order_relaxed);
        co_await weft::sleep(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(kLongestPause));
    }
}

}  // namespace weft::net::detail
