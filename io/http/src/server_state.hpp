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
#include <mutex>
#include <optional>

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
    Event all_closed;

    /// Registers a connection; false if the server is stopping (the connection closes).
    bool enter(detail::ConnectionNode& node) {
        std::lock_guard lock(mutex);
        if (draining.load()) return false;
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
