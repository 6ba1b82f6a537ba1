#include "process_state.hpp"

#include <unistd.h>

#include <cerrno>
#include <string>

#include <weft/process/process_error.hpp>

#include "orphan_reaper.hpp"
#include "pidfd.hpp"

namespace weft::process::detail {

using weft::detail::memory_order_acquire;
using weft::detail::memory_order_release;

ProcessState::~ProcessState() {
    if (reaped_.load(memory_order_acquire) || attempt_reap() != -EAGAIN) {
        ::close(pidfd_);  // reaped (or not ours to reap: ECHILD)
        return;
    }
    adopt_orphan(pidfd_);  // still running: reaped in the background when it exits
}

int ProcessState::attempt_reap() noexcept {
    if (reaped_.load(memory_order_acquire)) return 0;
    std::lock_guard lock(reap_mutex_);
    if (reaped_.load(memory_order_acquire)) return 0;  // another waiter reaped it meanwhile
    siginfo_t info;
    if (pidfd_try_wait(pidfd_, info) != 0) return -errno;
    if (info.si_pid == 0) return -EAGAIN;
    status_ = status_of(info);
    reaped_.store(true, memory_order_release);
    return 0;
}

std::optional<int> ProcessState::try_reap() {
    int result = attempt_reap();
    if (result == 0) return status_;
    if (result == -EAGAIN) return std::nullopt;
    throw_wait_error(-result);
}

void ProcessState::throw_wait_error(int err) const {
    std::string context = "weft::process: waiting for '" + program_ + "' (pid " + std::to_string(pid_) + ")";
    if (err == ECHILD) context += " failed: it was reaped elsewhere (SIGCHLD ignored, or a waitpid(-1))";
    throw ProcessError(err, context, program_);
}

}  // namespace weft::process::detail
