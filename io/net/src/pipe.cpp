#include <weft/net/pipe.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <weft/io_error.hpp>

namespace weft::net {

Pipe pipe() {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) throw_io_error(errno, "weft::net::pipe: pipe2");
    return Pipe{PipeReader(fds[0]), PipeWriter(fds[1])};
}

}  // namespace weft::net
