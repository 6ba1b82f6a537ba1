#include <weft/net/detail/accept.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include <weft/net/detail/io_awaiter.hpp>
#include <weft/net/detail/ops.hpp>
#include <weft/sleep.hpp>

#include "shortage_line.hpp"

namespace weft::net::detail {

namespace {

using namespace std::chrono_literals;

constexpr auto kFirstPause = 5ms;
constexpr auto kLongestPause = 500ms;
constexpr auto kTurnCheck = 5ms;  // how often an acceptor waiting for its turn looks

bool out_of_resources(int err) noexcept { return err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM; }

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
            AcceptOp op{listener.fd()};
            std::optional<int> got = weft::detail::try_now(source, op);
            if (!got) {  // nothing queued here: let the next listener try, wait for a connection
                turn.line.leave(turn.place);
                co_await weft::detail::ready(*source, Interest::read);
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
