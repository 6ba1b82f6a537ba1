// The pidfd system calls (Linux 5.3/5.4), through syscall(2): glibc 2.36 has wrappers, older
// ones do not, and a kernel without them must give a clear error rather than a link failure.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>

namespace weft::process::detail {

// pidfd_open(pid, 0): a close-on-exec descriptor for process `pid`; -1 and errno on failure.
int pidfd_open(pid_t pid) noexcept;
// pidfd_send_signal(pidfd, sig, nullptr, 0): 0, or -1 and errno (ESRCH once reaped).
int pidfd_send_signal(int pidfd, int signal) noexcept;
// waitid(P_PIDFD, pidfd, &info, WEXITED | WNOHANG), retried on EINTR: 0 (info.si_pid == 0
// while the child runs), or -1 and errno.
int pidfd_try_wait(int pidfd, siginfo_t& info) noexcept;
// The exit status asyncio reports for a waitid() result: the exit code, or -signal.
int status_of(const siginfo_t& info) noexcept;

// Throws ProcessError(ENOSYS) unless the kernel has pidfd_open and waitid(P_PIDFD) (checked
// once per process).
void require_pidfd_support();

}  // namespace weft::process::detail
