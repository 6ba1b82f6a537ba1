// weft::process::spawn(): argv and options checked, the program found, pipes made, then one
// posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK), which reports exec's errno back to us and
// reaps a child that failed to exec) and a pidfd for the child.
//
// Descriptors: every descriptor weft makes is close-on-exec, and the child additionally
// closes everything from 3 up (posix_spawn_file_actions_addclosefrom_np, glibc 2.34), so
// descriptors that other code opened without O_CLOEXEC do not leak into it either. The
// child's ends of the pipes are blocking (children expect blocking stdio); the parent's are
// non-blocking, for the reactor.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/process/process.hpp>

#include "pidfd.hpp"
#include "process_state.hpp"

extern char** environ;

namespace weft::process {

namespace {

// An owned descriptor, closed unless released.
class OwnedFd {
public:
    OwnedFd() noexcept = default;
    explicit OwnedFd(int fd) noexcept : fd_(fd) {}
    OwnedFd(OwnedFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    OwnedFd& operator=(OwnedFd&& other) noexcept {
        reset(std::exchange(other.fd_, -1));
        return *this;
    }
    ~OwnedFd() { reset(); }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

void check_no_nul(std::string_view text, const char* what) {
    if (text.find('\0') != std::string_view::npos)
        throw UsageError(std::string("weft::process::spawn: ") + what + " contains a NUL byte");
}

void check(const std::vector<std::string>& argv, const Options& options) {
    if (argv.empty() || argv.front().empty())
        throw UsageError("weft::process::spawn: argv is empty (argv[0] names the program to run)");
    for (const auto& arg : argv) check_no_nul(arg, "an argument");
    if (options.in == Stdio::merge || options.out == Stdio::merge)
        throw UsageError("weft::process::spawn: Stdio::merge is for Options::err only (stderr into stdout)");
    if (options.env) {
        for (const auto& [name, value] : *options.env) {
            if (name.empty() || name.find('=') != std::string::npos)
                throw UsageError("weft::process::spawn: environment variable name '" + name +
                                 "' is empty or contains '='");
            check_no_nul(name, "an environment variable name");
            check_no_nul(value, "an environment variable value");
        }
    }
    if (options.cwd) check_no_nul(*options.cwd, "cwd");
}

// Moves `fd` above 2, so that dup2() onto the child's 0..2 never meets itself (dup2(fd, fd)
// would keep its close-on-exec flag) nor clobbers a source it still needs.
OwnedFd above_stdio(OwnedFd fd) {
    if (fd.get() > 2) return fd;
    int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 3);
    if (moved < 0) throw_io_error(errno, "weft::process::spawn: fcntl(F_DUPFD_CLOEXEC)");
    return OwnedFd(moved);
}

struct PipeEnds {
    OwnedFd parent;  // non-blocking, close-on-exec
    OwnedFd child;   // blocking, close-on-exec (dup2'd into place in the child)
};

// `child_reads`: the child's end is the read end (its stdin).
PipeEnds make_pipe(bool child_reads) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw_io_error(errno, "weft::process::spawn: pipe2");
    OwnedFd read_end(fds[0]);
    OwnedFd write_end(fds[1]);
    PipeEnds ends{child_reads ? std::move(write_end) : std::move(read_end),
                  child_reads ? std::move(read_end) : std::move(write_end)};
    if (::fcntl(ends.parent.get(), F_SETFL, O_NONBLOCK) != 0)
        throw_io_error(errno, "weft::process::spawn: fcntl(O_NONBLOCK)");
    ends.child = above_stdio(std::move(ends.child));
    return ends;
}

bool is_executable_file(const std::string& path) {
    struct stat info{};
    return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// execvp's search: the first executable regular file named `program` in PATH. EACCES if
// only non-executable candidates exist (as execvp), else ENOENT.
std::string find_program(const std::string& program, const Options& options) {
    if (program.find('/') != std::string::npos) return program;  // a path: taken as it is
    std::string path;
    if (options.env) {
        auto it = options.env->find("PATH");
        if (it != options.env->end()) path = it->second;
    }
    if (path.empty()) {
        const char* parent_path = std::getenv("PATH");
        path = parent_path && *parent_path ? parent_path : "/usr/local/bin:/usr/bin:/bin";
    }
    bool denied = false;
    std::size_t start = 0;
    for (;;) {
        std::size_t end = path.find(':', start);
        std::string_view dir = std::string_view(path).substr(start, end == std::string::npos ? end : end - start);
        if (dir.empty()) dir = ".";  // an empty PATH entry means the current directory
        std::string candidate;
        candidate.append(dir).append("/").append(program);
        if (is_executable_file(candidate)) return candidate;
        if (::access(candidate.c_str(), F_OK) == 0) denied = true;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    int err = denied ? EACCES : ENOENT;
    throw ProcessError(err,
                       "weft::process::spawn: cannot run '" + program +
                           "': " + (denied ? "no executable file of that name in PATH=" : "not found in PATH=") + path,
                       program);
}

// posix_spawn's error, explained: it cannot say whether chdir or exec failed.
[[noreturn]] void throw_spawn_error(int err, const std::string& program, const std::string& path,
                                    const Options& options) {
    std::string context = "weft::process::spawn: cannot run '" + program + "'";
    if (path != program) context += " (" + path + ")";
    if (options.cwd) {
        struct stat info{};
        if (::stat(options.cwd->c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
            context += ": cwd '" + *options.cwd + "' is not a directory";
        } else {
            context += " in cwd '" + *options.cwd + "'";
        }
    }
    throw ProcessError(err, context, program);
}

// RAII for the posix_spawn attribute objects.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    SpawnSetup() {
        if (int err = ::posix_spawn_file_actions_init(&actions)) throw_io_error(err, "posix_spawn_file_actions_init");
        if (int err = ::posix_spawnattr_init(&attributes)) {
            ::posix_spawn_file_actions_destroy(&actions);
            throw_io_error(err, "posix_spawnattr_init");
        }
    }
    ~SpawnSetup() {
        ::posix_spawnattr_destroy(&attributes);
        ::posix_spawn_file_actions_destroy(&actions);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;

    void check(int err, const char* what) {
        if (err) throw_io_error(err, std::string("weft::process::spawn: ") + what);
    }
    void dup_to(int fd, int target) { check(::posix_spawn_file_actions_adddup2(&actions, fd, target), "adddup2"); }
};

}  // namespace

std::map<std::string, std::string> current_environment() {
    std::map<std::string, std::string> env;
    for (char** entry = environ; entry && *entry; ++entry) {
        std::string_view text(*entry);
        std::size_t equals = text.find('=');
        if (equals == std::string_view::npos || equals == 0) continue;
        env.emplace(std::string(text.substr(0, equals)), std::string(text.substr(equals + 1)));
    }
    return env;
}

Process spawn(std::vector<std::string> argv, Options options) {
    check(argv, options);
    detail::require_pidfd_support();
    const std::string& program = argv.front();
    std::string path = find_program(program, options);

    SpawnSetup setup;
    PipeEnds in, out, err;
    OwnedFd null;
    auto null_fd = [&]() -> int {
        if (null.get() < 0) {
            null.reset(::open("/dev/null", O_RDWR | O_CLOEXEC));
            if (null.get() < 0) throw_io_error(errno, "weft::process::spawn: open /dev/null");
            null = above_stdio(std::move(null));
        }
        return null.get();
    };
    // In the child, in order: stdin, stdout, stderr (merge copies the child's stdout), then
    // every other descriptor closed, then chdir.
    if (options.in == Stdio::pipe) {
        in = make_pipe(true);
        setup.dup_to(in.child.get(), 0);
    } else if (options.in == Stdio::null) {
        setup.dup_to(null_fd(), 0);
    }
    if (options.out == Stdio::pipe) {
        out = make_pipe(false);
        setup.dup_to(out.child.get(), 1);
    } else if (options.out == Stdio::null) {
        setup.dup_to(null_fd(), 1);
    }
    if (options.err == Stdio::pipe) {
        err = make_pipe(false);
        setup.dup_to(err.child.get(), 2);
    } else if (options.err == Stdio::null) {
        setup.dup_to(null_fd(), 2);
    } else if (options.err == Stdio::merge) {
        setup.dup_to(1, 2);
    }
    setup.check(::posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3), "addclosefrom_np");
    if (options.cwd)
        setup.check(::posix_spawn_file_actions_addchdir_np(&setup.actions, options.cwd->c_str()), "addchdir_np");

    // The child starts with no signal blocked (a worker may block SIGPIPE) and with SIGPIPE
    // and SIGXFSZ at their defaults even if this process ignores them.
    sigset_t none, defaults;
    ::sigemptyset(&none);
    ::sigemptyset(&defaults);
    ::sigaddset(&defaults, SIGPIPE);
    ::sigaddset(&defaults, SIGXFSZ);
    setup.check(::posix_spawnattr_setsigmask(&setup.attributes, &none), "setsigmask");
    setup.check(::posix_spawnattr_setsigdefault(&setup.attributes, &defaults), "setsigdefault");
    setup.check(::posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF),
                "setflags");

    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    std::vector<std::string> env_entries;
    std::vector<char*> env_pointers;
    char** envp = environ;
    if (options.env) {
        env_entries.reserve(options.env->size());
        for (const auto& [name, value] : *options.env) env_entries.push_back(name + "=" + value);
        for (auto& entry : env_entries) env_pointers.push_back(entry.data());
        env_pointers.push_back(nullptr);
        envp = env_pointers.data();
    }

    pid_t pid = -1;
    if (int error = ::posix_spawn(&pid, path.c_str(), &setup.actions, &setup.attributes, args.data(), envp))
        throw_spawn_error(error, program, path, options);

    int pidfd = detail::pidfd_open(pid);
    if (pidfd < 0) {
        // Not reaped yet, so `pid` is still our child: stop it rather than leak it.
        int error = errno;
        ::kill(pid, SIGKILL);
        siginfo_t info;
        ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
        throw_io_error(error, "weft::process::spawn: pidfd_open for '" + program + "'");
    }

    Process process;
    try {
        process.state_ = std::make_shared<detail::ProcessState>(pid, pidfd, program);
    } catch (...) {
        ::kill(pid, SIGKILL);  // out of memory: as above
        siginfo_t info;
        ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
        ::close(pidfd);
        throw;
    }
    if (options.in == Stdio::pipe) {
        process.in_ = net::PipeWriter(in.parent.release());
        process.piped_in_ = true;
    }
    if (options.out == Stdio::pipe) {
        process.out_ = net::PipeReader(out.parent.release());
        process.piped_out_ = true;
    }
    if (options.err == Stdio::pipe) {
        process.err_ = net::PipeReader(err.parent.release());
        process.piped_err_ = true;
    }
    return process;  // the child's ends close here, in the parent
}

}  // namespace weft::process
