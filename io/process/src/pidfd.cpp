#include "pidfd.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <weft/process/process_error.hpp>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace weft::process::detail {

int pidfd_open(pid_t pid) noexcept { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int pidfd_send_signal(int pidfd, int signal) noexcept {
    return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

int pidfd_try_wait(int pidfd, siginfo_t& info) noexcept {
    for (;;) {
        info = siginfo_t{};  // si_pid stays 0 if no child has exited (waitid(2))
        int result = ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG);
        if (result == 0 || errno != EINTR) return result;
    }
}

int status_of(const siginfo_t& info) noexcept {
    return info.si_code == CLD_EXITED ? info.si_status : -info.si_status;  // CLD_KILLED, CLD_DUMPED
}

void require_pidfd_support() {
    static const int missing = [] {
        int self = pidfd_open(::getpid());
        // ENOSYS: kernel before 5.3; EPERM: a seccomp filter (older container runtimes) that
        // refuses system calls it does not know. Other errors (EMFILE) surface later.
        if (self < 0) return errno == ENOSYS || errno == EPERM ? errno : 0;
        siginfo_t info;
        // We are not our own child: ECHILD if waitid knows P_PIDFD (5.4), EINVAL if not (5.3).
        int err = pidfd_try_wait(self, info) == 0 ? 0 : errno;
        ::close(self);
        return err == EINVAL ? ENOSYS : 0;
    }();
    if (missing)
        throw ProcessError(
            missing,
            "weft::process needs pidfd_open(2) and waitid(P_PIDFD) (Linux 5.4 or later, not blocked by seccomp)", "");
}

}  // namespace weft::process::detail
