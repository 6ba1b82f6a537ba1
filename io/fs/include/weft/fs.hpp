// Async files (aiofiles' model): every system call runs on the blocking pool through
// weft::offload, so the loops never wait on a disk. Resumes on a worker loop.
//
//   std::string config = co_await weft::fs::read_file("/etc/app.conf");
//   co_await weft::fs::write_file("state.json", std::move(json), {.fsync = true});
//
//   auto log = co_await weft::fs::AsyncFile::open("app.log", weft::fs::OpenMode::read);
//   while (auto line = co_await log.read_line())  // line iteration; nullopt at end of file
//       handle(*line);
//
// Errors: weft::IoError (io_error.hpp) with the errno in code() and the operation and path in
// what(): "weft::fs::read_file: open '/nope': No such file or directory (errno 2)". Writing to
// a pipe or FIFO whose reader has gone is weft::BrokenPipe (never SIGPIPE). A path with a NUL
// byte is a UsageError (Python's ValueError), not a shorter path.
//
// Cancellation (see offload.hpp): the awaiting task stops waiting at once, but a system call
// already running completes in the background. write_file() is atomic either way: the file
// holds the old content or the new, never a mix; and a cancelled write_file() does not rename
// its file into place afterwards (only one cancelled while the rename itself runs has
// replaced the file), so it cannot undo a later write_file(). After a cancelled AsyncFile
// operation the file position is unspecified: seek() before the next read or write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <weft/task.hpp>

namespace weft::fs {

struct WriteOptions {
    // fsync the data and then the directory before returning, so the new content survives a
    // crash; off by default (it costs milliseconds on most disks).
    bool fsync = false;
    // Permissions of a file that does not exist yet, less the process's umask (as open()
    // applies it); an existing file keeps its own mode exactly.
    unsigned permissions = 0644;
};

/// The whole file.
Task<std::string> read_file(std::filesystem::path path);

/// Replaces `path` atomically: writes a temporary file beside it, then renames it over.
Task<void> write_file(std::filesystem::path path, std::string data, WriteOptions options = {});

enum class OpenMode {
    read,        // "r": must exist
    write,       // "w": created or truncated
    append,      // "a": created; every write goes to the end
    read_write,  // "r+": must exist
};

enum class Whence { set, current, end };

/// An open file. One operation at a time (await each before the next); reads are buffered,
/// so read_line() costs one system call per 64 KiB, not per line (on a FIFO or terminal it
/// returns a line as soon as one has arrived). End of file is not sticky: after a read meets
/// it, the next read looks again, so a file that grows is followed (`tail -f`). Opening a
/// directory is IoError EISDIR.
///
///   auto f = co_await weft::fs::AsyncFile::open(path, weft::fs::OpenMode::read_write);
///   co_await f.seek(128);
///   std::string header = co_await f.read(16);
///   co_await f.write("patched");
///   co_await f.close();  // reports close errors; the destructor closes silently
class [[nodiscard("an AsyncFile closes when destroyed")]] AsyncFile {
public:
    static Task<AsyncFile> open(std::filesystem::path path, OpenMode mode = OpenMode::read);

    AsyncFile() noexcept;
    AsyncFile(AsyncFile&&) noexcept;
    AsyncFile& operator=(AsyncFile&&) noexcept;
    ~AsyncFile();

    /// Up to `max_bytes`: fewer only at end of file (empty there). Memory grows with the data
    /// read, not with `max_bytes` (read(SIZE_MAX) reads the rest).
    Task<std::string> read(std::size_t max_bytes);
    /// From the current position to the end.
    Task<std::string> read_to_end();
    /// The next line without its terminator ("\n" or "\r\n"); a last line without "\n" as it
    /// is; nullopt at end of file (weft's one read_line convention, as StreamReader's).
    Task<std::optional<std::string>> read_line();
    /// Writes all of `data`; returns its size.
    Task<std::size_t> write(std::string data);
    /// Moves the position; returns the new one from the start of the file.
    Task<std::uint64_t> seek(std::int64_t offset, Whence whence = Whence::set);
    Task<std::uint64_t> tell() { return seek(0, Whence::current); }
    /// fsync: the data written so far survives a crash.
    Task<void> sync();
    Task<void> close();

    bool is_open() const noexcept { return static_cast<bool>(descriptor_); }
    const std::filesystem::path& path() const noexcept { return path_; }

    struct Descriptor;  // the fd, shared with calls still running in the background

private:
    AsyncFile(std::shared_ptr<Descriptor> descriptor, std::filesystem::path path) noexcept;
    const std::shared_ptr<Descriptor>& checked(const char* what) const;
    std::size_t buffered() const noexcept { return buffer_.size() - consumed_; }
    std::string take_buffered(std::size_t max_bytes);
    Task<bool> fill_buffer();  // false at end of file (for now: a later call reads again)

    std::shared_ptr<Descriptor> descriptor_;
    std::filesystem::path path_;
    std::string buffer_;  // read ahead; buffer_[consumed_..] not yet handed out
    std::size_t consumed_ = 0;
};

}  // namespace weft::fs
