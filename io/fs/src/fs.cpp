// weft::fs: each function is a blocking POSIX sequence run by weft::offload. The lambdas own
// everything they touch (the descriptor through a shared_ptr, the data by value), because a
// cancelled awaiter leaves them running in the background.
#include <weft/fs.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string_view>
#include <utility>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/offload.hpp>
#include <weft/testing/fs_hooks.hpp>

namespace weft::fs {

struct AsyncFile::Descriptor {
    int fd;
    explicit Descriptor(int fd) noexcept : fd(fd) {}
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    ~Descriptor() {
        if (fd >= 0) ::close(fd);
    }
};

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kMaxReadAhead = std::size_t{1} << 20;  // read(n) allocates at most this ahead of the data

// testing/fs_hooks.hpp: set rarely, read by every write_file (a flag first: no lock then).
std::atomic<bool> g_before_rename_set{false};
std::mutex g_hooks_mutex;
std::function<void()> g_before_rename;

std::function<void()> before_rename_hook() {
    if (!g_before_rename_set.load(std::memory_order_acquire)) return {};
    std::lock_guard lock(g_hooks_mutex);
    return g_before_rename;
}

// Python raises ValueError for an embedded NUL; the C calls would stop there and act on a
// shorter path (a suffix check on "report.txt\0.png" would be fooled).
void check_path(std::string_view operation, const std::filesystem::path& path) {
    if (path.native().find('\0') != std::string::npos)
        throw UsageError("weft::fs::" + std::string(operation) + ": the path contains a NUL byte");
}

std::string context(std::string_view operation, const std::filesystem::path& path) {
    std::string text = "weft::fs::";
    text += operation;
    text += " '";
    text += path.string();
    text += '\'';
    return text;
}

[[noreturn]] void fail(std::string_view operation, const std::filesystem::path& path, int err = errno) {
    throw_io_error(err, context(operation, path));
}

class FdGuard {
public:
    explicit FdGuard(int fd) noexcept : fd_(fd) {}
    FdGuard(const FdGuard&) = delete;
    FdGuard& operator=(const FdGuard&) = delete;
    ~FdGuard() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

private:
    int fd_;
};

// Reads until `size` bytes or end of file; returns how many.
std::size_t read_fully(int fd, char* data, std::size_t size, std::string_view operation,
                       const std::filesystem::path& path) {
    std::size_t done = 0;
    while (done < size) {
        ssize_t n = ::read(fd, data + done, size - done);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(operation, path);
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

// One read(2) (EINTR retried): what a pipe, FIFO or terminal has now, up to `size`; 0 at end.
std::size_t read_some(int fd, char* data, std::size_t size, std::string_view operation,
                      const std::filesystem::path& path) {
    for (;;) {
        ssize_t n = ::read(fd, data, size);
        if (n >= 0) return static_cast<std::size_t>(n);
        if (errno != EINTR) fail(operation, path);
    }
}

void write_fully(int fd, std::string_view data, std::string_view operation, const std::filesystem::path& path) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(operation, path);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::string read_whole(int fd, std::size_t size_hint, std::string_view operation, const std::filesystem::path& path) {
    std::string data(size_hint, '\0');
    std::size_t size = read_fully(fd, data.data(), data.size(), operation, path);
    if (size < data.size()) {
        data.resize(size);
        return data;
    }
    // Past the hint: the file grew, or it is one (procfs) whose size says 0. Read in chunks.
    std::string chunk(kChunk, '\0');
    for (;;) {
        std::size_t n = read_fully(fd, chunk.data(), chunk.size(), operation, path);
        data.append(chunk, 0, n);
        if (n < chunk.size()) return data;
    }
}

std::string read_file_blocking(const std::filesystem::path& path) {
    check_path("read_file", path);
    FdGuard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) fail("read_file: open", path);
    struct stat info{};
    if (::fstat(fd.get(), &info) != 0) fail("read_file: stat", path);
    if (S_ISDIR(info.st_mode)) fail("read_file: open", path, EISDIR);
    return read_whole(fd.get(), static_cast<std::size_t>(info.st_size), "read_file: read", path);
}

void fsync_directory(const std::filesystem::path& directory) {
    FdGuard fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) fail("write_file: open directory", directory);
    if (::fsync(fd.get()) != 0) fail("write_file: fsync directory", directory);
}

// The file `path` names once its symlinks are followed (open() writes there): the path itself
// if it is not a link; a dangling link's target, which write_file creates. ELOOP after 40
// links, as the kernel counts.
std::filesystem::path follow_symlinks(const std::filesystem::path& path) {
    std::filesystem::path current = path;
    for (int links = 0;; ++links) {
        struct stat info{};
        if (::lstat(current.c_str(), &info) != 0 || !S_ISLNK(info.st_mode)) return current;
        if (links == 40) fail("write_file: follow symlinks", path, ELOOP);
        std::error_code error;
        std::filesystem::path target = std::filesystem::read_symlink(current, error);
        if (error) fail("write_file: read symlink", current, error.value());
        current = target.is_absolute() ? target : current.parent_path() / target;
    }
}

// A FIFO, a device or a socket is written to, not replaced (a rename would swap in a regular
// file): opened without O_CREAT, so nothing new appears. Not atomic (nothing else is possible).
void write_in_place(const std::filesystem::path& path, std::string_view data, WriteOptions options) {
    FdGuard fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    if (fd.get() < 0) fail("write_file: open", path);
    write_fully(fd.get(), data, "write_file: write", path);
    if (options.fsync && ::fsync(fd.get()) != 0 && errno != EINVAL && errno != EROFS)
        fail("write_file: fsync", path);  // (EINVAL: a pipe or device that cannot sync)
    if (::close(fd.release()) != 0) fail("write_file: close", path);
}

// The temporary file beside `path`: "." + its name + ".tmp-" + 8 random hex digits, created
// with O_EXCL and `mode` (so the umask applies, as open() applies it). A long name is cut so
// that the temporary name stays within NAME_MAX (255).
int create_temporary(const std::filesystem::path& directory, const std::filesystem::path& path, mode_t mode,
                     std::string& temp) {
    std::string stem = path.filename().string();
    if (stem.size() > 200) stem.resize(200);
    thread_local std::uint64_t state = (std::uint64_t(::getpid()) << 32) ^ reinterpret_cast<std::uintptr_t>(&state);
    for (int attempt = 0; attempt < 100; ++attempt) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;  // (uniqueness, not secrecy)
        char suffix[9];
        static constexpr char kHex[] = "0123456789abcdef";
        for (int i = 0; i < 8; ++i) suffix[i] = kHex[(state >> (32 + 4 * i)) & 15];
        suffix[8] = '\0';
        // Built with append(): GCC 12 reports a false -Wrestrict on `"." + name + ...` chains.
        std::string name(".");
        name.append(stem).append(".tmp-").append(suffix);
        temp = (directory / name).string();
        int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;  // (errno: EEXIST)
}

void write_file_blocking(std::stop_token stop, const std::filesystem::path& given, std::string_view data,
                         WriteOptions options) {
    check_path("write_file", given);
    if (!given.has_filename()) fail("write_file", given, EISDIR);
    // Through a symlink: the file it points to is replaced, and the link stays (as open() writes
    // through it); the temporary file goes beside the target, so the rename stays on its file system.
    const std::filesystem::path path = follow_symlinks(given);
    std::filesystem::path directory = path.parent_path();
    if (directory.empty()) directory = ".";

    // A new file: the permissions less the umask (applied by open); an existing one: its own mode,
    // exactly (fchmod ignores the umask).
    mode_t mode = static_cast<mode_t>(options.permissions & 07777);
    bool keep_mode = false;
    struct stat existing{};
    if (::stat(path.c_str(), &existing) == 0) {
        if (S_ISDIR(existing.st_mode)) fail("write_file", given, EISDIR);
        if (!S_ISREG(existing.st_mode)) return write_in_place(path, data, options);
        mode = existing.st_mode & 07777;
        keep_mode = true;
    }

    std::string temp;
    FdGuard fd(create_temporary(directory, path, keep_mode ? 0600 : mode, temp));
    if (fd.get() < 0) fail("write_file: create temporary file in", directory);
    const std::function<void()> hook = before_rename_hook();  // (kept until this call returns)
    try {
        if (keep_mode && ::fchmod(fd.get(), mode) != 0) fail("write_file: chmod", temp);
        write_fully(fd.get(), data, "write_file: write", temp);
        if (options.fsync && ::fsync(fd.get()) != 0) fail("write_file: fsync", temp);
        if (::close(fd.release()) != 0) fail("write_file: close", temp);
        if (hook) hook();
        // Cancelled meanwhile: the caller was told the file was not written, and a later
        // write_file may already have replaced it. (A cancel that comes during the rename
        // itself is too late: the new content is in place.)
        if (stop.stop_requested()) {
            ::unlink(temp.c_str());
            return;
        }
        if (::rename(temp.c_str(), path.c_str()) != 0) fail("write_file: rename over", path);
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    if (options.fsync) fsync_directory(directory);
}

int open_flags(OpenMode mode) noexcept {
    switch (mode) {
        case OpenMode::read:
            return O_RDONLY;
        case OpenMode::write:
            return O_WRONLY | O_CREAT | O_TRUNC;
        case OpenMode::append:
            return O_WRONLY | O_CREAT | O_APPEND;
        case OpenMode::read_write:
            return O_RDWR;
    }
    return O_RDONLY;
}

int native_whence(Whence whence) noexcept {
    switch (whence) {
        case Whence::set:
            return SEEK_SET;
        case Whence::current:
            return SEEK_CUR;
        case Whence::end:
            return SEEK_END;
    }
    return SEEK_SET;
}

}  // namespace

// --- whole files -------------------------------------------------------------------------

Task<std::string> read_file(std::filesystem::path path) {
    co_return co_await offload([](const std::filesystem::path& p) { return read_file_blocking(p); }, std::move(path));
}

Task<void> write_file(std::filesystem::path path, std::string data, WriteOptions options) {
    co_await offload([](std::stop_token stop, const std::filesystem::path& p, const std::string& d,
                        WriteOptions o) { write_file_blocking(std::move(stop), p, d, o); },
                     std::move(path), std::move(data), options);
}

// --- AsyncFile ---------------------------------------------------------------------------

AsyncFile::AsyncFile() noexcept = default;
AsyncFile::AsyncFile(AsyncFile&&) noexcept = default;
AsyncFile& AsyncFile::operator=(AsyncFile&&) noexcept = default;
AsyncFile::~AsyncFile() = default;  // the last owner of the Descriptor closes it

AsyncFile::AsyncFile(std::shared_ptr<Descriptor> descriptor, std::filesystem::path path) noexcept
    : descriptor_(std::move(descriptor)), path_(std::move(path)) {}

Task<AsyncFile> AsyncFile::open(std::filesystem::path path, OpenMode mode) {
    int fd = co_await offload(
        [](const std::filesystem::path& p, OpenMode m) {
            check_path("AsyncFile::open", p);
            FdGuard opened(::open(p.c_str(), open_flags(m) | O_CLOEXEC, 0644));
            if (opened.get() < 0) fail("AsyncFile::open", p);
            // A directory opens for reading; Python's open() refuses it there, so do we.
            struct stat info{};
            if (::fstat(opened.get(), &info) != 0) fail("AsyncFile::open: stat", p);
            if (S_ISDIR(info.st_mode)) fail("AsyncFile::open", p, EISDIR);
            return opened.release();
        },
        path, mode);
    co_return AsyncFile(std::make_shared<Descriptor>(fd), std::move(path));
}

const std::shared_ptr<AsyncFile::Descriptor>& AsyncFile::checked(const char* what) const {
    if (!descriptor_) throw UsageError(std::string("weft::fs::AsyncFile::") + what + ": the file is not open");
    return descriptor_;
}

std::string AsyncFile::take_buffered(std::size_t max_bytes) {
    std::size_t n = std::min(max_bytes, buffered());
    std::string out = buffer_.substr(consumed_, n);
    consumed_ += n;
    return out;
}

// One read(2): a FIFO or terminal hands over the line it has without waiting for 64 KiB. At
// the end of the file it returns false now, and reads again next time (the file may grow).
Task<bool> AsyncFile::fill_buffer() {
    std::string chunk = co_await offload(
        [](std::shared_ptr<Descriptor> d, const std::filesystem::path& p) {
            std::string data(kChunk, '\0');
            data.resize(read_some(d->fd, data.data(), data.size(), "AsyncFile::read", p));
            return data;
        },
        checked("read"), path_);
    if (chunk.empty()) co_return false;
    buffer_.erase(0, consumed_);
    consumed_ = 0;
    buffer_ += chunk;
    co_return true;
}

Task<std::string> AsyncFile::read(std::size_t max_bytes) {
    std::string out = take_buffered(max_bytes);
    if (out.size() == max_bytes) co_return out;
    std::size_t missing = max_bytes - out.size();
    // In steps of at most kMaxReadAhead: a huge max_bytes (read everything) allocates as the
    // data comes, not up front.
    std::string rest = co_await offload(
        [](std::shared_ptr<Descriptor> d, const std::filesystem::path& p, std::size_t n) {
            std::string data;
            while (data.size() < n) {
                std::size_t step = std::min(n - data.size(), kMaxReadAhead);
                std::size_t before = data.size();
                data.resize(before + step);
                std::size_t got = read_fully(d->fd, data.data() + before, step, "AsyncFile::read", p);
                data.resize(before + got);
                if (got < step) break;  // end of file
            }
            return data;
        },
        checked("read"), path_, missing);
    out += rest;
    co_return out;
}

Task<std::string> AsyncFile::read_to_end() {
    std::string out = take_buffered(buffered());
    out += co_await offload(
        [](std::shared_ptr<Descriptor> d, const std::filesystem::path& p) {
            return read_whole(d->fd, 0, "AsyncFile::read_to_end", p);
        },
        checked("read_to_end"), path_);
    co_return out;
}

Task<std::optional<std::string>> AsyncFile::read_line() {
    std::size_t searched = consumed_;
    for (;;) {
        std::size_t newline = buffer_.find('\n', searched);
        if (newline != std::string::npos) {
            std::string line = buffer_.substr(consumed_, newline - consumed_);
            consumed_ = newline + 1;
            if (!line.empty() && line.back() == '\r') line.pop_back();  // "\r\n" too
            co_return line;
        }
        searched = buffer_.size();
        std::size_t offset = consumed_;
        if (!co_await fill_buffer()) break;
        searched -= offset;  // fill_buffer moved the unconsumed bytes to the front
    }
    if (buffered() == 0) co_return std::nullopt;
    co_return take_buffered(buffered());  // a last line without '\n'
}

Task<std::size_t> AsyncFile::write(std::string data) {
    // The descriptor's offset is ahead of the logical one by what was read ahead.
    auto behind = static_cast<off_t>(buffered());
    buffer_.clear();
    consumed_ = 0;
    co_return co_await offload(
        [](std::shared_ptr<Descriptor> d, const std::filesystem::path& p, const std::string& bytes, off_t rewind) {
            if (rewind > 0 && ::lseek(d->fd, -rewind, SEEK_CUR) < 0) fail("AsyncFile::write: seek", p);
            write_fully(d->fd, bytes, "AsyncFile::write", p);
            return bytes.size();
        },
        checked("write"), path_, std::move(data), behind);
}

Task<std::uint64_t> AsyncFile::seek(std::int64_t offset, Whence whence) {
    if (whence == Whence::current) offset -= static_cast<std::int64_t>(buffered());
    buffer_.clear();
    consumed_ = 0;
    co_return co_await offload(
        [](std::shared_ptr<Descriptor> d, const std::filesystem::path& p, off_t off, int native) {
            off_t position = ::lseek(d->fd, off, native);
            if (position < 0) fail("AsyncFile::seek", p);
            return static_cast<std::uint64_t>(position);
        },
        checked("seek"), path_, static_cast<off_t>(offset), native_whence(whence));
}

Task<void> AsyncFile::sync() {
    co_await offload(
        [](std::shared_ptr<Descriptor> d, const std::filesystem::path& p) {
            if (::fsync(d->fd) != 0) fail("AsyncFile::sync", p);
        },
        checked("sync"), path_);
}

Task<void> AsyncFile::close() {
    std::shared_ptr<Descriptor> descriptor = std::move(descriptor_);
    buffer_.clear();
    consumed_ = 0;
    if (!descriptor || descriptor.use_count() > 1) co_return;  // a cancelled call still uses it: it closes last
    co_await offload(
        [](std::shared_ptr<Descriptor> d, const std::filesystem::path& p) {
            int fd = std::exchange(d->fd, -1);
            if (::close(fd) != 0 && errno != EINTR) fail("AsyncFile::close", p);
        },
        std::move(descriptor), path_);
}

}  // namespace weft::fs

void weft::testing::set_write_file_before_rename(std::function<void()> hook) {
    std::lock_guard lock(fs::g_hooks_mutex);
    fs::g_before_rename_set.store(static_cast<bool>(hook), std::memory_order_release);
    fs::g_before_rename = std::move(hook);
}
