// What weft::process::spawn() gives the child: its standard streams, environment and
// working directory (asyncio.create_subprocess_exec's stdin/stdout/stderr/env/cwd).
//
//   weft::process::Options options{
//       .in = weft::process::Stdio::pipe,       // the parent writes the child's stdin
//       .out = weft::process::Stdio::pipe,      // and reads its stdout
//       .err = weft::process::Stdio::merge,     // stderr goes where stdout goes (2>&1)
//       .env = weft::process::current_environment(),
//       .cwd = "/tmp",
//   };
//   options.env->insert_or_assign("LC_ALL", "C");
//
// The fields are named in/out/err because stdin, stdout and stderr are macros of <cstdio>.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace weft::process {

/// Where one of the child's standard streams goes.
enum class Stdio {
    inherit,  ///< the parent's own stream (the default, as in asyncio)
    pipe,     ///< a pipe whose other end the Process holds (in(), out(), err())
    null,     ///< /dev/null (asyncio.subprocess.DEVNULL)
    merge,    ///< err only: the same as the child's stdout (asyncio.subprocess.STDOUT, 2>&1)
};

struct Options {
    Stdio in = Stdio::inherit;
    Stdio out = Stdio::inherit;
    Stdio err = Stdio::inherit;
    /// The child's whole environment (NAME -> value), replacing the parent's; nullopt: the
    /// parent's. A program named without a '/' is looked up in this PATH when it has one
    /// (as Python's subprocess and Rust's Command do), else in the parent's.
    std::optional<std::map<std::string, std::string>> env{};
    /// The child's working directory; nullopt: the parent's. A relative program path
    /// ("./tool") is taken relative to it, as exec after chdir would.
    std::optional<std::string> cwd{};
};

/// The parent's environment now, to extend for Options::env (os.environ.copy()).
std::map<std::string, std::string> current_environment();

}  // namespace weft::process
