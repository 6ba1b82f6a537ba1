// weft::process::spawn(): run a program as a child process (asyncio's
// create_subprocess_exec, Tokio's process::Command), with its pipes as weft streams and its
// exit awaited on the worker's reactor.
//
//   auto child = weft::process::spawn({"sort"}, {.in = Stdio::pipe, .out = Stdio::pipe});
//   auto [code, sorted, _] = co_await child.communicate("pear\napple\n");  // "apple\npear\n", 0
//
//   auto job = weft::process::spawn({"make", "-j2"}, {.cwd = "/src"});
//   int status = co_await job.wait();        // exit code, or -N if killed by signal N
//
//   auto server = weft::process::spawn({"./server"}, {.out = Stdio::pipe});
//   std::size_t n = co_await server.out().read(buf, sizeof buf);          // a PipeReader
//   server.terminate();                      // SIGTERM; then co_await server.wait()
//
// Spawning is synchronous (as Tokio's spawn(); asyncio's is a coroutine): posix_spawn, which
// blocks the calling worker until the child has exec'd (tens of microseconds), and may be
// called outside a runtime. A program that cannot be run throws weft::ProcessError (ENOENT
// with the program's name when it is not found), never a child that exits 127. The child
// gets exactly the descriptors 0, 1 and 2 (every other one is closed in the child, as Python's
// close_fds=True), an empty signal mask and SIGPIPE/SIGXFSZ at their default actions (weft
// blocks SIGPIPE on the worker threads that write to pipes; Python's restore_signals).
//
// Waiting: the Process holds a pidfd (pidfd_open(2)); wait() waits for it to become readable
// on the current worker's reactor, then reaps the child with waitid(P_PIDFD), so no other
// child is ever reaped by mistake and no SIGCHLD handler is involved. Any number of tasks
// may await wait() at once, from any worker; all get the same status.
// Exit status (asyncio's returncode): the exit code 0..255, or -N when signal N killed it.
//
// Cancellation: cancelling a task that awaits wait() or communicate() kills nothing (asyncio's
// rule): the child keeps running and a later wait() still returns its status. A cancelled
// communicate() loses the output read so far and closes the pipes it was using (the child sees
// end of input, and EPIPE/SIGPIPE if it writes more). To stop the child on cancellation, catch
// CancelledError, kill(), co_await wait(), rethrow; or use weft::wait_for and kill on timeout.
//
// Reaping: a child is always reaped, even if the Process is destroyed without wait(): the
// child keeps running (no kill on drop, as in asyncio and Tokio), and its pidfd goes to a
// background reaper thread (one per process, started on first need, waiting in epoll) that
// reaps it when it exits. So no zombie is left behind. The Process's pipes are closed.
// Signals: send_signal() uses pidfd_send_signal(2), so a recycled pid is never signalled;
// once the child has exited it does nothing and returns false (Popen.send_signal's rule;
// asyncio raises ProcessLookupError once the transport is closed).
// Requires Linux 5.4+ (pidfd_open, waitid P_PIDFD); else spawn() throws ProcessError ENOSYS.
// The program must not set SIGCHLD to SIG_IGN nor reap children with waitpid(-1) elsewhere:
// wait() then throws ProcessError ECHILD.
#pragma once

#include <csignal>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <weft/net/pipe.hpp>
#include <weft/process/options.hpp>
#include <weft/process/process_error.hpp>
#include <weft/task.hpp>

namespace weft::process {

namespace detail {
class ProcessState;
}

/// What communicate() returns (Tokio's Output; asyncio returns (stdout, stderr) and sets
/// returncode).
struct Output {
    int returncode = 0;  ///< as wait()
    std::string out;     ///< all of the child's stdout ("" unless Stdio::pipe)
    std::string err;     ///< all of its stderr ("" unless Stdio::pipe)
};

/// A running (or finished) child process. Move-only; destroying it closes the pipes it still
/// holds and leaves the child running, to be reaped in the background (header comment).
class Process {
public:
    Process() noexcept = default;  // no process: every operation throws UsageError
    Process(Process&&) noexcept = default;
    Process& operator=(Process&&) noexcept = default;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    /// The child's process id (for logs; signal it through send_signal(), not kill(2)).
    int pid() const;

    /// The exit status once the child has exited (exit code, or -N for signal N), nullopt
    /// while it runs. Checks without blocking, and reaps the child if it has exited.
    std::optional<int> returncode() const;

    /// Waits for the child to exit and returns its status. A cancellation point; cancelling
    /// it leaves the child running. Resumes on the worker whose reactor saw the exit.
    Task<int> wait();

    /// Sends `signal` unless the child has already exited (then returns false and does
    /// nothing). UsageError for an invalid signal number.
    bool send_signal(int signal);
    /// send_signal(SIGTERM).
    bool terminate() { return send_signal(SIGTERM); }
    /// send_signal(SIGKILL).
    bool kill() { return send_signal(SIGKILL); }

    /// Writes `input` to the child's stdin and closes it, while reading its stdout and
    /// stderr to their ends, all at once (so neither side can fill a pipe and stall the
    /// other), then waits for the child to exit. Works on the pipes still open: one the
    /// caller closed or moved out reads as "". UsageError if `input` is not empty and stdin
    /// is not an open pipe. A BrokenPipe while writing (the child exits without reading all
    /// of it) is ignored, as in asyncio. Cancellation: see the header comment.
    Task<Output> communicate(std::string input = {});

    /// The parent's ends of the pipes (Stdio::pipe only; else UsageError). They are weft
    /// streams (weft/net/pipe.hpp): read()/read_exact() and write()/write_all(), cancellable;
    /// close in() to send end-of-file. Move them out to hand them to other tasks.
    net::PipeWriter& in();
    net::PipeReader& out();
    net::PipeReader& err();

private:
    friend Process spawn(std::vector<std::string> argv, Options options);
    const std::shared_ptr<detail::ProcessState>& state() const;

    std::shared_ptr<detail::ProcessState> state_;  // shared with wait()s in flight
    net::PipeWriter in_;
    net::PipeReader out_;
    net::PipeReader err_;
    bool piped_in_ = false;
    bool piped_out_ = false;
    bool piped_err_ = false;
};

/// Starts `argv[0]` with arguments `argv[1..]`. A name without '/' is searched in PATH
/// (Options::env's, if it sets one). Throws UsageError for an empty argv, a NUL byte in an
/// argument, an env name that is empty or holds '=', or Stdio::merge for in/out;
/// ProcessError if the program cannot be run (ENOENT naming it, EACCES, ENOEXEC; ENOENT for
/// a missing cwd); IoError if pipes or descriptors run out.
Process spawn(std::vector<std::string> argv, Options options = {});

}  // namespace weft::process
