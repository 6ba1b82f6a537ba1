// A tls::Stream's state, on the heap so that its mutex never moves.
//
// Who touches what (stream.hpp's concurrency contract: one reader and one writer at a time):
//   mutex guards ssl, both BIOs, broken, shut_down and fin_pending. It is held only around
//       OpenSSL calls and flag changes, never across an await.
//   in_buf, tcp_eof: the reader's alone (and the handshake's, before the Stream exists).
//   sending: held by the task that drains wbio to tcp (the only one writing to tcp, the only
//       one using out_buf). The rule that keeps bytes from being stranded in wbio: the
//       holder finds wbio empty and unlocks `sending` in one critical section of `mutex`,
//       and a task that queued bytes in wbio tries to lock `sending` in the same critical
//       section as it queued them. So either it gets `sending` and drains them itself, or
//       the holder has not yet made its final check and will see them.
//       A writer waits for `sending` (backpressure: its write() returns once its records are
//       in the kernel); the reader only tries it (a reader never waits for a writer).
//   reading, writing: atomics, to refuse a second reader or writer (UsageError).
//   closed: set once by Stream::close(); from then on the closing task (stream.cpp's
//       finish_close) owns ssl, tcp and the buffers, and the Stream only reads the strings
//       set at the handshake. close_done / close_error: the closing task's outcome, written
//       before close_done is set, read by wait_closed() after it.
// The Stream and its closing task share the state (a shared_ptr): close() returns at once,
// the closing task keeps the connection until the peer has every byte.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>

#include <weft/event.hpp>
#include <weft/lock.hpp>
#include <weft/net/tcp_stream.hpp>

#include "context_state.hpp"

namespace weft::tls::detail {

// Ciphertext read from the socket at once: one full TLS record (16 KiB + header and tag).
inline constexpr std::size_t kInChunk = 16 * 1024 + 512;
// Plaintext encrypted per write(): one record, so one write() sends one record.
inline constexpr std::size_t kMaxWrite = 16 * 1024;
// Ciphertext sent at once: a whole record from one write().
inline constexpr std::size_t kOutChunk = 16 * 1024 + 512;

struct StreamState {
    StreamState(net::TcpStream stream, std::shared_ptr<const ContextState> ctx)
        : tcp(std::move(stream)), context(std::move(ctx)), in_buf(new char[kInChunk]), out_buf(new char[kOutChunk]) {}
    StreamState(const StreamState&) = delete;
    StreamState& operator=(const StreamState&) = delete;
    // Closes the socket at once if it is still open after the handshake (stream.cpp's
    // close_at_once: no reset for unread bytes), then frees the SSL and both BIOs. That is
    // the end of a closing task the runtime shut down before it ran.
    ~StreamState();

    std::mutex mutex;
    SSL* ssl = nullptr;
    BIO* rbio = nullptr;  // ciphertext from the peer, filled by the reader
    BIO* wbio = nullptr;  // ciphertext for the peer, drained by the flusher

    Lock sending;              // see above
    bool broken = false;       // ciphertext was lost (a failed or cancelled send): no more writes
    bool shut_down = false;    // close_notify queued
    bool fin_pending = false;  // send the TCP FIN once wbio is drained (after close_notify)

    std::atomic<bool> reading{false};
    std::atomic<bool> writing{false};

    bool tcp_eof = false;  // the reader saw the socket's end

    std::atomic<bool> closed{false};  // close() was called
    Event close_done;                 // the socket is closed (wait_closed)
    std::exception_ptr close_error;   // why the peer may not have every byte

    net::TcpStream tcp;
    std::shared_ptr<const ContextState> context;  // the ALPN callback reads it: keep it alive
    std::string host;                             // connect()'s server_name
    std::string alpn;                             // the negotiated protocol
    std::string peer_subject;                     // the peer certificate's subject (RFC 2253), or ""

    std::unique_ptr<char[]> in_buf;
    std::unique_ptr<char[]> out_buf;
};

}  // namespace weft::tls::detail
