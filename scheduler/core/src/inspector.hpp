// A runtime's inspector (RuntimeOptions::task_registry, debug, control_socket): one thread per
// runtime that serves the control socket (control.hpp), runs debug mode's watchdog and writes
// the dump to the log on SIGUSR1. A thread rather than a task: it must answer and watch when
// every worker is stuck (a blocking call, a deadlock), which is when it is needed most, and the
// workers' loops never look at it. It wakes every tick (<= 100 ms) or on a client.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <weft/task_dump.hpp>

namespace weft::detail {

class RuntimeCore;

class Inspector {
public:
    // Opens the control socket if the options ask for one (UsageError if it cannot; when the
    // path came from WEFT_CONTROL (`path_from_env`), logs and goes on without it).
    Inspector(RuntimeCore& core, bool path_from_env);
    ~Inspector();
    Inspector(const Inspector&) = delete;
    Inspector& operator=(const Inspector&) = delete;

    void start();
    void stop() noexcept;  // joins the thread, removes the socket file; idempotent

    void add_command(std::string name, std::function<std::string()> reply);
    // The reply to one command line of the control socket.
    std::string reply(std::string_view command);
    const std::string& socket_path() const noexcept { return path_; }

private:
    void run() noexcept;
    void watchdog() noexcept;
    void serve_one() noexcept;
    std::string describe_running(std::uint64_t id);

    RuntimeCore& core_;
    std::string path_;    // "" when no socket
    int listen_fd_ = -1;
    int wake_fd_ = -1;    // eventfd: stop()
    int tick_ms_ = 100;
    std::mutex commands_mutex_;
    std::map<std::string, std::function<std::string()>, std::less<>> commands_;
    std::thread thread_;
    std::vector<std::uint64_t> reported_;  // per worker: the resume the watchdog logged last
    unsigned seen_signals_ = 0;
};

// The dump of `core`'s tasks (UsageError if it keeps no registry).
RuntimeDump collect_dump(RuntimeCore& core);

}  // namespace weft::detail
