// The operations behind weft::net's awaitables (see io_awaiter.hpp for the Op contract).
// Each holds its fd and buffers by value; step() is defined in io/net/src/ops.cpp.
#pragma once

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

struct ReadSomeOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::read;
    int fd;
    void* data;
    std::size_t size;
    int flags;  // recv flags (MSG_PEEK); sockets only
    FdKind kind;
    std::optional<std::size_t> step(IoSource* source);
};

struct WriteSomeOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::write;
    int fd;
    const void* data;
    std::size_t size;
    FdKind kind;
    std::optional<std::size_t> step(IoSource* source);
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
    std::optional<std::size_t> step(IoSource* source);
};

struct WriteAllOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::write;
    int fd;
    const char* data;
    std::size_t size;
    FdKind kind;
    std::size_t done = 0;
    std::optional<std::size_t> step(IoSource* source);
};

// One accept4(); the new fd is non-blocking and close-on-exec. The errors accept_retryable()
// names come back as -errno (no exception: under EMFILE even throwing is best avoided); the
// listeners' accept() loops handle them. Others are thrown.
bool accept_retryable(int err) noexcept;
struct AcceptOp {
    using value_type = int;
    static constexpr Interest interest = Interest::read;
    int fd;
    std::optional<int> step(IoSource* source);
};

// Completes a non-blocking connect() that returned EINPROGRESS.
struct ConnectOp {
    using value_type = int;
    static constexpr Interest interest = Interest::write;
    int fd;
    SocketAddress peer;  // for the error message
    std::optional<int> step(IoSource* source);
};

struct RecvFromOp {
    using value_type = Datagram;
    static constexpr Interest interest = Interest::read;
    int fd;
    void* data;
    std::size_t size;
    std::optional<Datagram> step(IoSource* source);
};

struct SendToOp {
    using value_type = std::size_t;
    static constexpr Interest interest = Interest::write;
    int fd;
    const void* data;
    std::size_t size;
    SocketAddress to;
    std::optional<std::size_t> step(IoSource* source);
};

// Socket helpers shared by the socket types (throw IoError with `what` as context).
int open_socket(int family, int type, const char* what);
SocketAddress local_address_of(int fd);
SocketAddress peer_address_of(int fd);
void set_option(int fd, int level, int name, int value, const char* what);
int get_option(int fd, int level, int name, const char* what);
void shutdown_socket(int fd, int how);

}  // namespace weft::net::detail
