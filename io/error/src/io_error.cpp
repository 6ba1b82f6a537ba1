#include <weft/io_error.hpp>

#include <cerrno>
#include <cstring>

namespace weft {

namespace {
std::string describe(int err, std::string_view context) {
    std::string text(context);
    text += ": ";
    text += std::strerror(err);
    text += " (errno ";
    text += std::to_string(err);
    text += ')';
    return text;
}
}  // namespace

io_errc classify_errno(int err) noexcept {
    switch (err) {
        case ECONNREFUSED:
            return io_errc::connection_refused;
        case ECONNRESET:
        case ECONNABORTED:
            return io_errc::connection_reset;
        case EPIPE:
            return io_errc::broken_pipe;
        case ETIMEDOUT:
            return io_errc::timed_out;
        case EMFILE:
        case ENFILE:
            return io_errc::too_many_files;
        default:
            return io_errc::other;
    }
}

IoError::IoError(int err, std::string_view context)
    : Error(describe(err, context)), code_(err), kind_(classify_errno(err)) {}

void throw_io_error(int err, std::string_view context) {
    switch (classify_errno(err)) {
        case io_errc::connection_refused:
            throw ConnectionRefused(err, context);
        case io_errc::connection_reset:
            throw ConnectionReset(err, context);
        case io_errc::broken_pipe:
            throw BrokenPipe(err, context);
        case io_errc::timed_out:
            throw TimedOut(err, context);
        case io_errc::too_many_files:
            throw TooManyFiles(err, context);
        case io_errc::unexpected_eof:
        case io_errc::other:
            break;
    }
    throw IoError(err, context);
}

}  // namespace weft
