// weft::ProcessError: a child process could not be started, or could not be watched.
//
//   try {
//       auto child = weft::process::spawn({"no-such-tool", "--version"});
//   } catch (const weft::ProcessError& e) {
//       if (e.code() == ENOENT) spdlog::warn("{} is not installed", e.program());
//   }
//
// It is an IoError carrying the errno (asyncio raises FileNotFoundError / PermissionError
// from create_subprocess_exec): ENOENT (program not found, or cwd missing), EACCES (not
// executable), ENOEXEC (not a program the kernel can run), ECHILD (someone else reaped the
// child: SIGCHLD set to SIG_IGN, or a waitpid(-1) elsewhere in the process), ENOSYS (the
// kernel has no pidfd: Linux 5.4 or later is required) or EPERM (a seccomp filter blocks
// it). Failures to allocate what a spawn needs (pipes, descriptors) are plain IoErrors such
// as TooManyFiles.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <weft/io_error.hpp>

namespace weft {

class ProcessError : public IoError {
public:
    /// what() reads "<context>: <strerror(err)> (errno <err>)"; `program` is argv[0].
    ProcessError(int err, std::string_view context, std::string program)
        : IoError(err, context), program_(std::move(program)) {}
    /// The program (argv[0]) the failure concerns.
    const std::string& program() const noexcept { return program_; }

private:
    std::string program_;
};

}  // namespace weft
