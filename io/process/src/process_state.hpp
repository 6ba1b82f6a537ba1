// What a Process shares with the wait()s in flight: the child's pid and pidfd and, once it
// has been reaped, its status. Exactly one waitid() reaps the child: the one that takes the
// mutex while no status is known. Whoever drops the last reference hands a child still
// running to the orphan reaper (orphan_reaper.hpp), so none is left a zombie.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <optional>
#include <string>

#include <weft/detail/atomic.hpp>

namespace weft::process::detail {

class ProcessState {
public:
    ProcessState(pid_t pid, int pidfd, std::string program) noexcept
        : pid_(pid), pidfd_(pidfd), program_(std::move(program)) {}
    ~ProcessState();
    ProcessState(const ProcessState&) = delete;
    ProcessState& operator=(const ProcessState&) = delete;

    pid_t pid() const noexcept { return pid_; }
    int pidfd() const noexcept { return pidfd_; }
    const std::string& program() const noexcept { return program_; }

    // The status if the child has exited (reaping it now if nobody has yet), else nullopt.
    // Never blocks. ProcessError ECHILD if someone else reaped it.
    std::optional<int> try_reap();
    // try_reap() as the I/O operation contract wants it (ops.hpp): 0 once reaped, -EAGAIN
    // while running, -errno on failure (reaped_status() then has nothing).
    int attempt_reap() noexcept;
    int reaped_status() const noexcept { return status_; }  // after try_reap() gave a value
    [[noreturn]] void throw_wait_error(int err) const;

private:
    pid_t pid_;
    int pidfd_;
    std::string program_;
    std::mutex reap_mutex_;                          // one waitid() at a time
    weft::detail::Atomic<bool> reaped_{false};       // release: status_ is written before
    int status_ = 0;
};

}  // namespace weft::process::detail
