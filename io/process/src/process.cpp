#include <weft/process/process.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <tuple>
#include <utility>

#include <weft/error.hpp>
#include <weft/gather.hpp>
#include <weft/io_error.hpp>
#include <weft/net/detail/descriptor.hpp>
#include <weft/net/detail/io_awaiter.hpp>

#include "pidfd.hpp"
#include "process_state.hpp"

namespace weft::process {

namespace {

// The child's exit as an I/O operation (io/net/include/weft/net/detail/ops.hpp's contract):
// "ready" is the pidfd becoming readable, the attempt is a non-blocking waitid(). So waiting
// for a child is waiting for a descriptor, on whatever I/O driver the runtime uses.
struct ReapOp {
    using value_type = int;
    static constexpr weft::detail::Interest interest = weft::detail::Interest::read;
    detail::ProcessState* state;
    ssize_t attempt() { return state->attempt_reap(); }
    std::optional<int> finish(ssize_t result) {
        if (result < 0) state->throw_wait_error(static_cast<int>(-result));
        return state->reaped_status();
    }
    std::size_t asked() const noexcept { return 0; }
};

Task<int> wait_for_exit(std::shared_ptr<detail::ProcessState> state) {
    if (auto status = state->try_reap()) co_return *status;
    // Each blocking wait watches its own duplicate of the pidfd: the driver wakes one reader
    // per registration, and any number of tasks may wait for one child. The duplicate is
    // deregistered and closed when the wait ends, however it ends.
    int watched = ::fcntl(state->pidfd(), F_DUPFD_CLOEXEC, 0);
    if (watched < 0) throw_io_error(errno, "weft::process: wait: fcntl(F_DUPFD_CLOEXEC) of a pidfd");
    net::detail::Descriptor pidfd(watched);
    int status = co_await net::detail::IoAwaiter<ReapOp>(pidfd, ReapOp{state.get()});
    co_return status;
}

// communicate()'s three parts own what they use, so a cancelled communicate() (whose
// when_all does not wait for them) leaves nothing dangling.
Task<std::string> feed(net::PipeWriter writer, std::string input) {
    if (writer.is_open()) {
        try {
            if (!input.empty()) co_await writer.write_all(input);
        } catch (const BrokenPipe&) {
            // The child exited (or closed its stdin) without reading everything: asyncio's
            // _feed_stdin ignores this too; its status says what happened.
        } catch (const ConnectionReset&) {
        }
        writer.close();
    }
    co_return std::string{};
}

Task<std::string> drain(net::PipeReader reader) {
    std::string data;
    if (!reader.is_open()) co_return data;
    std::size_t used = 0;
    for (;;) {
        if (data.size() - used < 16 * 1024) data.resize(std::max<std::size_t>(64 * 1024, data.size() * 2));
        std::size_t n = co_await reader.read(data.data() + used, data.size() - used);
        if (n == 0) break;
        used += n;
    }
    data.resize(used);
    co_return data;
}

[[noreturn]] void throw_not_piped(const char* stream) {
    throw UsageError(std::string("weft::process::Process::") + stream + "(): the child's std" + stream +
                     " is not a pipe (spawn it with Options::" + stream + " = Stdio::pipe)");
}

}  // namespace

Process::~Process() = default;  // the pipes close; the state's last owner reaps or hands over

const std::shared_ptr<detail::ProcessState>& Process::state() const {
    if (!state_) throw UsageError("weft::process::Process: no process (default-constructed, or moved from)");
    return state_;
}

int Process::pid() const { return state()->pid(); }

std::optional<int> Process::returncode() const { return state()->try_reap(); }

Task<int> Process::wait() { return wait_for_exit(state()); }

bool Process::send_signal(int signal) {
    const auto& process = state();
    if (process->try_reap()) return false;  // exited: nothing to signal (Popen.send_signal)
    if (detail::pidfd_send_signal(process->pidfd(), signal) == 0) return true;
    int err = errno;
    if (err == ESRCH) return false;  // exited and reaped meanwhile: the pidfd names no one else
    if (err == EINVAL)
        throw UsageError("weft::process::Process::send_signal: invalid signal number " + std::to_string(signal));
    throw_io_error(err, "weft::process::Process::send_signal to '" + process->program() + "'");
}

Task<Output> Process::communicate(std::string input) {
    std::shared_ptr<detail::ProcessState> process = state();
    if (!input.empty() && !in_.is_open())
        throw UsageError(
            "weft::process::Process::communicate: input given but the child's stdin is not an open pipe "
            "(spawn it with Options::in = Stdio::pipe)");
    // Start all three before awaiting any (when_all runs them as tasks), so the child can
    // never block on a full stdout pipe while we block writing its stdin, or the reverse.
    auto parts =
        co_await when_all(feed(std::move(in_), std::move(input)), drain(std::move(out_)), drain(std::move(err_)));
    Output output;
    output.out = std::move(std::get<1>(parts));
    output.err = std::move(std::get<2>(parts));
    output.returncode = co_await wait_for_exit(std::move(process));
    co_return output;
}

net::PipeWriter& Process::in() {
    state();
    if (!piped_in_) throw_not_piped("in");
    return in_;
}

net::PipeReader& Process::out() {
    state();
    if (!piped_out_) throw_not_piped("out");
    return out_;
}

net::PipeReader& Process::err() {
    state();
    if (!piped_err_) throw_not_piped("err");
    return err_;
}

}  // namespace weft::process
