// The operations behind weft::net's awaitables: plain data (fd, buffers, by value) that any
// I/O driver can perform (io_driver.hpp, "How a driver plugs in"). The Op contract:
//   using value_type = ...;                  what co_await returns
//   static constexpr Interest interest;      what readiness lets attempt() progress
//   ssize_t attempt();                       one non-blocking syscall: its result (>= 0) or
//                                            -errno (-EAGAIN: would block); EINTR retried
//   std::optional<value_type> finish(ssize_t result)
//                                            what a result (of attempt(), or of a completion
//                                            driver's submission of the same operation)
//                                            means: the value; nullopt to go on (partial
//                                            progress kept in the Op); or it throws
//   std::size_t asked() const;               bytes the next attempt asks for: a stream that
//                                            transfers fewer is drained (or full) for now;
//                                            0: the result says nothing of the kind
// attempt(), finish() and asked() are defined in io/net/src/ops.cpp.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>

#include <weft/net/address.hpp>
#include <weft/net/detail/descriptor.hpp>

namespace weft::net {

/// What recv_from() returns: the datagram's length and sender. `truncated`: the datagram
/// was longer than the buffer and its tail was dropped.
struct Datagram {
    std::size_t size = 0;
    SocketAddress from;
    bool truncated = false;
};

}  // namespace weft::net

namespace weft::net::detail {

// Sockets use recv/send (send with MSG_NOSIGNAL); pipes use read/write, with SIGPIPE
// blocked on the writing worker thread so that a closed reader means EPIPE, not death.
enum class FdKind : unsigned char { socket, pipe };

inline constexpr int kPeekFlag = 2;  // MSG_PEEK (static_assert'ed in ops.cpp)

struct ReadSomeOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::read;
    int fd;
    void* data;
    std::size_t size;
    int flags;  // recv flags (MSG_PEEK); sockets only
    FdKind kind;
    ssize_t attempt();
    std::optional<std::size_t> finish(ssize_t result);
    std::size_t asked() const noexcept { return (flags & kPeekFlag) ? 0 : size; }  // a peek drains nothing
};

struct WriteSomeOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::write;
    int fd;
    const void* data;
    std::size_t size;
    FdKind kind;
    ssize_t attempt();
    std::optional<std::size_t> finish(ssize_t result);
    std::size_t asked() const noexcept { return size; }
};

// Reads exactly `size` bytes; UnexpectedEof if the stream ends first.
struct ReadExactOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::read;
    int fd;
    char* data;
    std::size_t size;
    FdKind kind;
    std::size_t done = 0;
    ssize_t attempt();
    std::optional<std::size_t> finish(ssize_t result);
    std::size_t asked() const noexcept { return size - done; }
};

struct WriteAllOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::write;
    int fd;
    const char* data;
    std::size_t size;
    FdKind kind;
    std::size_t done = 0;
    ssize_t attempt();
    std::optional<std::size_t> finish(ssize_t result);
    std::size_t asked() const noexcept { return size - done; }
};

// One accept4(); the new fd is non-blocking and close-on-exec. The errors accept_retryable()
// names come back as -errno (no exception: under EMFILE even throwing is best avoided); the
// listeners' accept() loops handle them. Others are thrown.
bool accept_retryable(int err) noexcept;
struct AcceptOp {
    using value_type = int;
    static constexpr Interest interest = Interest::read;
    int fd;
    ssize_t attempt();
    std::optional<int> finish(ssize_t result);
    std::size_t asked() const noexcept { return 0; }
};

// Completes a non-blocking connect() that returned EINPROGRESS. Its attempt() makes no
// connect() call: it asks whether the socket is connected (0), still connecting (-EAGAIN)
// or failed (-error). Readiness starts optimistic and registration may report a stale
// edge, so "writable" alone proves nothing.
struct ConnectOp {
    using value_type = int;
    static constexpr Interest interest = Interest::write;
    int fd;
    SocketAddress peer;  // for the error message
    ssize_t attempt();
    std::optional<int> finish(ssize_t result);
    std::size_t asked() const noexcept { return 0; }
};

struct RecvFromOp {
    using value_type = Datagram;
    static constexpr Interest interest = Interest::read;
    int fd;
    void* data;
    std::size_t size;
    Datagram received{};  // attempt() fills `from`
    ssize_t attempt();
    std::optional<Datagram> finish(ssize_t result);
    std::size_t asked() const noexcept { return 0; }
};

struct SendToOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::write;
    int fd;
    const void* data;
    std::size_t size;
    SocketAddress to;
    ssize_t attempt();
    std::optional<std::size_t> finish(ssize_t result);
    std::size_t asked() const noexcept { return 0; }
};

// Socket helpers shared by the socket types (throw IoError with `what` as context).
int open_socket(int family, int type, const char* what);
SocketAddress local_address_of(int fd);
SocketAddress peer_address_of(int fd);
void set_option(int fd, int level, int name, int value, const char* what);
int get_option(int fd, int level, int name, const char* what);
void shutdown_socket(int fd, int how);

}  // namespace weft::net::detail
