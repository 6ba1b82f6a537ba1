// The control socket: a Unix stream socket where a running program answers questions about
// itself (RuntimeOptions::control_socket, or WEFT_CONTROL=path in the environment).
//
//   weft::Runtime rt({.control_socket = "/tmp/app.sock"});
//   weft::add_control_command(rt, "version", [] { return std::string("1.4.2\n"); });
//   // $ tools/weft-pstree /tmp/app.sock        (or: echo pstree | nc -U /tmp/app.sock)
//
// Protocol: a client connects, writes one command line, and reads the reply until EOF. Built
// in: `ps` (RuntimeDump::table()), `pstree` (tree()), `json` (json()), `metrics` (the
// Prometheus text of Runtime::metrics(), prometheus_text.hpp; a command the program adds
// under the same name replaces it); anything else gets
// `error: unknown command '<it>'`. The socket is served by the runtime's inspector thread (not
// by a task): it answers when every worker is stuck, which is when a dump is wanted most, and
// the workers' loops never look at it. A stale socket file at the path is replaced; the file is
// removed at shutdown.
#pragma once

#include <functional>
#include <string>

namespace weft {

class Runtime;

/// Adds (or replaces) the command `name` of `runtime`'s control socket: its reply is `reply()`,
/// called on the inspector thread (keep it short; an exception becomes `error: <what>`).
/// UsageError if the runtime serves no control socket, or for a name with spaces or none.
void add_control_command(Runtime& runtime, std::string name, std::function<std::string()> reply);

/// The path `runtime` serves its control socket at ("" when none).
std::string control_socket_path(Runtime& runtime);

}  // namespace weft
