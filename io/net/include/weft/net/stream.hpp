// weft::net::Stream: the byte-stream operations TcpStream and UnixStream share.
//
//   char buf[4096];
//   std::size_t n = co_await stream.read(buf, sizeof buf);  // some bytes; 0 = end of stream
//   co_await stream.write_all(buf, n);                      // all of them, or throws
//   co_await stream.read_exact(header, 16);                 // UnexpectedEof if it ends first
//   std::string line;
//   co_await stream.read_until(line, '\n');                 // through the delimiter
//   co_await stream.peek(buf, sizeof buf);                  // some bytes, left in the stream
//
// Every await is a cancellation point (cancel(), timeout(), wait_for()). Which bytes a
// cancelled operation has consumed:
//   read(), read_until()'s internal peek: none. A read cancelled by a timeout leaves the
//       stream usable; the next read returns the bytes that arrive, none skipped.
//   read_until(): the bytes already moved into `line` stay there (nothing is lost).
//   read_exact(), write_all(): an unknown prefix (as with Tokio). Close the stream, or use
//       read()/write() when you need to resume after a timeout.
// Errors are weft::IoError subclasses (ConnectionReset, BrokenPipe, UnexpectedEof, ...).
// Reading, writing or shutting down a stream after close() (or after moving from it) is
// UsageError "stream is closed": the old fd number may name another file by then.
// One task may read while another writes; two concurrent readers (or writers) throw
// UsageError. Resumes on the worker loop the stream is registered with.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <weft/net/address.hpp>
#include <weft/net/detail/descriptor.hpp>
#include <weft/net/detail/io_awaiter.hpp>
#include <weft/net/detail/ops.hpp>
#include <weft/task.hpp>

namespace weft::net {

enum class ShutdownMode { read = SHUT_RD, write = SHUT_WR, both = SHUT_RDWR };

class Stream {
public:
    using ReadAwaiter = detail::IoAwaiter<detail::ReadSomeOp>;
    using WriteAwaiter = detail::IoAwaiter<detail::WriteSomeOp>;
    using ReadExactAwaiter = detail::IoAwaiter<detail::ReadExactOp>;
    using WriteAllAwaiter = detail::IoAwaiter<detail::WriteAllOp>;

    Stream() noexcept = default;
    Stream(Stream&&) noexcept = default;
    Stream& operator=(Stream&&) noexcept = default;

    /// Up to `size` bytes as soon as any are available; 0 at end of stream (or size 0).
    ReadAwaiter read(void* data, std::size_t size) { return {descriptor_, {descriptor_.fd(), data, size, 0, kind_}}; }
    ReadAwaiter read(std::span<std::byte> buffer) { return read(buffer.data(), buffer.size()); }
    /// Up to `size` bytes as soon as any are available, left in the stream: the next read
    /// returns them again (recv with MSG_PEEK). 0 at end of stream (or size 0).
    ///   char first;
    ///   if (co_await stream.peek(&first, 1) == 1 && first == 0x16) { /* a TLS ClientHello */ }
    ReadAwaiter peek(void* data, std::size_t size) {
        return {descriptor_, {descriptor_.fd(), data, size, MSG_PEEK, kind_}};
    }
    /// Exactly `size` bytes (returns size).
    ReadExactAwaiter read_exact(void* data, std::size_t size) {
        return {descriptor_, {descriptor_.fd(), static_cast<char*>(data), size, kind_}};
    }
    /// Appends to `line` through the first `delimiter`; returns how many bytes it appended:
    /// 0 at end of stream, fewer than `max` without the delimiter if the stream ended,
    /// `max` without it if the line is longer (the rest stays in the stream). Consumes no
    /// byte past the delimiter (it peeks first), so the stream can be handed on afterwards.
    /// Sockets only; prefer StreamReader (stream_reader.hpp) for many small lines.
    Task<std::size_t> read_until(std::string& line, char delimiter, std::size_t max = 64 * 1024);

    /// Writes some of the bytes (at least one unless size is 0); returns how many.
    WriteAwaiter write(const void* data, std::size_t size) {
        return {descriptor_, {descriptor_.fd(), data, size, kind_}};
    }
    /// Writes every byte (returns size). BrokenPipe / ConnectionReset if the peer is gone.
    WriteAllAwaiter write_all(const void* data, std::size_t size) {
        return {descriptor_, {descriptor_.fd(), static_cast<const char*>(data), size, kind_}};
    }
    WriteAllAwaiter write_all(std::string_view text) { return write_all(text.data(), text.size()); }
    /// One write attempt now, never waiting: how many bytes the kernel took (0 if its buffer
    /// is full). Throws as write() does. Not a cancellation point (StreamWriter::write uses it).
    std::size_t try_write(const void* data, std::size_t size);

    /// shutdown(2): `write` sends end-of-stream to the peer and keeps reading possible.
    void shutdown(ShutdownMode how = ShutdownMode::write);
    /// Closes now (the destructor does too). Not while another task awaits this stream.
    void close() noexcept { descriptor_.close(); }
    bool is_open() const noexcept { return descriptor_.is_open(); }
    int native_handle() const noexcept { return descriptor_.fd(); }

    SocketAddress local_address() const { return detail::local_address_of(descriptor_.fd()); }
    SocketAddress peer_address() const { return detail::peer_address_of(descriptor_.fd()); }

protected:
    Stream(int fd, detail::FdKind kind) noexcept : descriptor_(fd), kind_(kind) {}
    // After a non-blocking connect() returned EINPROGRESS: resumes once connected, or throws.
    detail::IoAwaiter<detail::ConnectOp> wait_connected(const SocketAddress& peer) {
        return {descriptor_, {descriptor_.fd(), peer}};
    }
    detail::Descriptor descriptor_;
    detail::FdKind kind_ = detail::FdKind::socket;
};

}  // namespace weft::net
