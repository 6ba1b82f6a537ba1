// weft::IoError: an operating-system I/O failure, carrying its errno and a message.
//
//   try { auto s = co_await weft::net::TcpStream::connect("127.0.0.1", 9000); }
//   catch (const weft::ConnectionRefused& e) { retry_later(); }          // a subclass...
//   catch (const weft::IoError& e) { log(e.code(), e.what()); }         // ...or the errno
//
// The subclasses name the failures a caller commonly handles on its own; every other errno
// is a plain IoError (kind() == io_errc::other). A deadline from weft::timeout()/wait_for()
// stays a weft::TimeoutError; TimedOut is the kernel's ETIMEDOUT or a deadline an I/O call
// was given as an argument (TcpStream::connect(..., timeout)).
#pragma once

#include <string>
#include <string_view>

#include <weft/error.hpp>

namespace weft {

enum class io_errc {
    other,
    connection_refused,  // ECONNREFUSED
    connection_reset,    // ECONNRESET, ECONNABORTED
    broken_pipe,         // EPIPE: writing to a connection the peer closed
    timed_out,           // ETIMEDOUT
    too_many_files,      // EMFILE, ENFILE: out of file descriptors
    unexpected_eof,      // the peer closed the stream before an exact-size read was satisfied (code() == 0)
};

/// The kind an errno value falls under.
io_errc classify_errno(int err) noexcept;

class IoError : public Error {
public:
    /// what() reads "<context>: <strerror(err)> (errno <err>)".
    IoError(int err, std::string_view context);
    int code() const noexcept { return code_; }
    io_errc kind() const noexcept { return kind_; }

protected:
    IoError(int err, io_errc kind, const std::string& message) : Error(message), code_(err), kind_(kind) {}

private:
    int code_;
    io_errc kind_;
};

class ConnectionRefused : public IoError {
public:
    using IoError::IoError;
};
class ConnectionReset : public IoError {
public:
    using IoError::IoError;
};
class BrokenPipe : public IoError {
public:
    using IoError::IoError;
};
class TimedOut : public IoError {
public:
    using IoError::IoError;
};
class TooManyFiles : public IoError {
public:
    using IoError::IoError;
};
/// read_exact() and friends: the stream ended early. code() is 0 (no errno).
class UnexpectedEof : public IoError {
public:
    explicit UnexpectedEof(const std::string& message) : IoError(0, io_errc::unexpected_eof, message) {}
};

/// Throws the IoError subclass matching `err` (classify_errno), with `context` in what().
[[noreturn]] void throw_io_error(int err, std::string_view context);

}  // namespace weft
