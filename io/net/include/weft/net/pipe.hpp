// weft::net::pipe(): an anonymous pipe with awaitable ends.
//
//   auto [reader, writer] = weft::net::pipe();
//   co_await writer.write_all(data, size);
//   writer.close();                                    // the reader then sees end of stream
//   std::size_t n = co_await reader.read(buf, sizeof buf);
//
// PipeReader/PipeWriter also adopt other non-blocking fds that read(2)/write(2) serve
// (a child process's stdout, for example). Writing to a pipe whose reader is closed throws
// BrokenPipe: the first pipe write on a worker thread blocks SIGPIPE on that thread.
#pragma once

#include <weft/net/stream.hpp>

namespace weft::net {

class PipeReader : private Stream {
public:
    PipeReader() noexcept = default;
    explicit PipeReader(int fd) noexcept : Stream(fd, detail::FdKind::pipe) {}
    using Stream::close;
    using Stream::is_open;
    using Stream::native_handle;
    using Stream::read;
    using Stream::read_exact;
};

class PipeWriter : private Stream {
public:
    PipeWriter() noexcept = default;
    explicit PipeWriter(int fd) noexcept : Stream(fd, detail::FdKind::pipe) {}
    using Stream::close;
    using Stream::is_open;
    using Stream::native_handle;
    using Stream::try_write;
    using Stream::write;
    using Stream::write_all;
};

struct Pipe {
    PipeReader reader;
    PipeWriter writer;
};

/// pipe2(O_NONBLOCK | O_CLOEXEC).
Pipe pipe();

}  // namespace weft::net
