// Server::Impl: what a server's connections share, and the registry graceful stopping uses.
//
// Stopping protocol (Server::serve's drain):
//  1. drain sets `draining` (seq_cst), then, under the mutex, moves every connection whose
//     state is idle (waiting for a request: nothing or part of a head received; or still in
//     its TLS handshake, which registers as idle) to closing and cancels its task.
//  2. A connection about to wait for a request stores idle (seq_cst), then reads
//     `draining`: if set it ends itself. So (Dekker) either it sees draining, or drain sees
//     it idle. After the read it moves idle -> busy by CAS; if drain got there first
//     (closing), a cancel is pending and it ends without awaiting anything.
//  3. A busy connection finishes its request, answers with Connection: close when draining
//     is set, and ends.
//  4. Each connection unregisters under the mutex when it ends; the last one, once draining,
//     sets `all_closed`. After graceful_timeout drain cancels those left and waits for them.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include <spdlog/spdlog.h>

#include <weft/current_task.hpp>
#include <weft/event.hpp>
#include <weft/http/router.hpp>
#include <weft/http/server.hpp>
#include <weft/net/serve.hpp>
#include <weft/tls/context.hpp>

namespace weft::http {

namespace detail {

enum ConnectionState : int { kBusy = 0, kIdle = 1, kClosing = 2 };

struct ConnectionNode {
    explicit ConnectionNode(TaskRef t) noexcept : task(t) {}
    TaskRef task;
    std::atomic<int> state{kBusy};
    // When it last began to wait for a request (Impl::idle_sequence): max_connections closes
    // the one idle longest (nginx's reusable-connection queue). 0: not yet.
    std::atomic<std::uint64_t> idle_since{0};
    ConnectionNode* prev = nullptr;
    ConnectionNode* next = nullptr;
};

}  // namespace detail

struct Server::Impl {
    Impl(Router r, ServerOptions o) : router(std::move(r)), options(std::move(o)) {}

    Router router;
    ServerOptions options;
    std::optional<net::PerCoreListener> listener;
    tls::Context tls;  // set when the options name a certificate: the server speaks HTTPS

    std::atomic<bool> draining{false};
    std::mutex mutex;
    detail::ConnectionNode* head = nullptr;
    std::atomic<std::size_t> count{0};
    std::size_t refused_at_limit = 0;  // guarded by mutex
    std::atomic<std::uint64_t> idle_sequence{0};
    Event all_closed;

    /// Registers a connection; false if the server is stopping, or at max_connections with no
    /// idle connection to close for it (the connection closes).
    bool enter(detail::ConnectionNode& node) {
        std::lock_guard lock(mutex);
        if (draining.load()) return false;
        if (options.max_connections != 0 && count.load() >= options.max_connections && !make_room_locked()) {
            const std::size_t refused = ++refused_at_limit;
            if ((refused & (refused - 1)) == 0)  // 1, 2, 4, ...: a flood logs a few lines, not one each
                spdlog::warn("weft::http: max_connections ({}) reached with no idle connection: {} new one(s) refused",
                             options.max_connections, refused);
            return false;
        }
        node.next = head;
        if (head) head->prev = &node;
        head = &node;
        count.fetch_add(1);
        return true;
    }
    void leave(detail::ConnectionNode& node) {
        std::lock_guard lock(mutex);
        if (node.prev) node.prev->next = node.next;
        else head = node.next;
        if (node.next) node.next->prev = node.prev;
        if (count.fetch_sub(1) == 1 && draining.load()) all_closed.set();
    }
    /// At max_connections: true if a connection is on its way out, either one already
    /// closing or the one idle longest (waiting for a request, or in its TLS handshake), which
    /// this closes as a stop does (idle -> closing, then cancel).
    bool make_room_locked() {
        for (;;) {  // again if the one picked turned busy meanwhile
            detail::ConnectionNode* longest = nullptr;
            for (detail::ConnectionNode* n = head; n; n = n->next) {
                const int state = n->state.load();
                if (state == detail::kClosing) return true;
                if (state == detail::kIdle && (!longest || n->idle_since.load(std::memory_order_relaxed) <
                                                               longest->idle_since.load(std::memory_order_relaxed)))
                    longest = n;
            }
            if (!longest) return false;
            int expected = detail::kIdle;
            if (longest->state.compare_exchange_strong(expected, detail::kClosing)) {
                longest->task.cancel();
                return true;
            }
        }
    }

    /// Steps 1 and 4 above: closes idle connections (or every one, when `all`).
    void close_connections(bool all) {
        std::lock_guard lock(mutex);
        for (detail::ConnectionNode* n = head; n; n = n->next) {
            int expected = detail::kIdle;
            if (n->state.compare_exchange_strong(expected, detail::kClosing) || all) n->task.cancel();
        }
    }
};

}  // namespace weft::http
