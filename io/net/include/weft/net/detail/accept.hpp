// The accept loop TcpListener and UnixListener share.
#pragma once

#include <cstdint>

#include <weft/detail/atomic.hpp>
#include <weft/net/detail/descriptor.hpp>
#include <weft/task.hpp>

namespace weft::net::detail {

// Accepts one connection: its fd (non-blocking, close-on-exec). Out of descriptors or
// memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) it sleeps (5 ms doubling to 500 ms) and
// retries, counting each pause in `backoffs`, instead of failing or spinning; with
// edge-triggered readiness no new edge would come for a connection already queued, hence
// the timer. It logs one warning once accepting works again, not while descriptors are
// out (a log sink may need one, and so does the sanitizers' runtime); backoffs() is the
// live signal. Connections that died in the queue (ECONNABORTED...) are skipped.
// Listeners share the descriptors that come back: the acceptors short of them form one
// process-wide line, oldest shortage first, and only the first in line retries; after an
// accept it goes to the back if others wait, so the listeners take turns (accept.cpp).
Task<int> accept_fd(Descriptor& listener, weft::detail::Atomic<std::uint64_t>& backoffs);

}  // namespace weft::net::detail
