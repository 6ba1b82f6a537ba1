// The inspector thread (inspector.hpp): control socket, debug watchdog, SIGUSR1 dumps.
#include "inspector.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>

#include <weft/control.hpp>
#include <weft/error.hpp>
#include <weft/runtime.hpp>

#include "runtime_core.hpp"
#include "task_registry.hpp"
#include "worker.hpp"
#include "worker_trace.hpp"

namespace weft::detail {

std::string metrics_text(RuntimeCore& core);  // observe/src/runtime_metrics.cpp

namespace {

// SIGUSR1: the handler only counts (a lock-free atomic increment is async-signal-safe); each
// inspector compares the count with what it saw at its next tick and logs its dump.
std::atomic<unsigned> g_dump_signals{0};
static_assert(std::atomic<unsigned>::is_always_lock_free);

extern "C" void on_dump_signal(int) { g_dump_signals.fetch_add(1, std::memory_order_relaxed); }

// Installed while some inspector runs, and only if SIGUSR1 had its default action then (a
// program's own handler, or weft::signal's, keeps it); the last inspector to stop puts the
// default back.
std::mutex g_signal_mutex;
unsigned g_signal_users = 0;
bool g_signal_installed = false;

void install_dump_signal() noexcept {
    std::lock_guard lock(g_signal_mutex);
    if (g_signal_users++ != 0) return;
    struct sigaction old{};
    if (::sigaction(SIGUSR1, nullptr, &old) != 0) return;
    if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) return;
    struct sigaction action{};
    action.sa_handler = on_dump_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    g_signal_installed = ::sigaction(SIGUSR1, &action, nullptr) == 0;
}

void uninstall_dump_signal() noexcept {
    std::lock_guard lock(g_signal_mutex);
    if (--g_signal_users != 0 || !g_signal_installed) return;
    g_signal_installed = false;
    struct sigaction current{};
    if (::sigaction(SIGUSR1, nullptr, &current) != 0) return;
    if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != on_dump_signal) return;  // replaced since
    struct sigaction action{};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGUSR1, &action, nullptr);
}

std::string trim(std::string_view text) {
    std::size_t begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string_view::npos) return {};
    std::size_t end = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(begin, end - begin + 1));
}

void write_all(int fd, std::string_view data) noexcept {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

Inspector::Inspector(RuntimeCore& core, bool path_from_env) : core_(core), reported_(core.worker_count(), 0) {
    const RuntimeOptions& options = core.options();
    if (options.debug) tick_ms_ = static_cast<int>(std::clamp<long long>(options.slow_resume.count() / 4, 5, 100));
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) throw Error(std::string("weft inspector: eventfd: ") + std::strerror(errno));
    seen_signals_ = g_dump_signals.load(std::memory_order_relaxed);
    if (options.control_socket.empty()) return;
    const std::string& path = options.control_socket;
    auto fail = [&](const std::string& why) {
        std::string message = "weft control socket '" + path + "': " + why;
        if (listen_fd_ >= 0) ::close(listen_fd_);
        listen_fd_ = -1;
        if (!path_from_env) {
            ::close(wake_fd_);
            throw UsageError(message);
        }
        spdlog::error("{} (from WEFT_CONTROL; runtime '{}' runs without one)", message, options.name);
    };
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (path.size() >= sizeof(address.sun_path)) {
        fail("the path is longer than " + std::to_string(sizeof(address.sun_path) - 1) + " bytes");
        return;
    }
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    // A socket file left by a process that died is replaced; any other file is not ours to remove.
    if (struct stat st{}; ::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fail("the path exists and is not a socket");
            return;
        }
        int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        bool alive = probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
        if (probe >= 0) ::close(probe);
        if (alive) {
            fail("another process is serving it");
            return;
        }
        ::unlink(path.c_str());
    }
    listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (listen_fd_ < 0) {
        fail(std::string("socket: ") + std::strerror(errno));
        return;
    }
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        fail(std::string("bind: ") + std::strerror(errno));
        return;
    }
    if (::listen(listen_fd_, 16) != 0) {
        int error = errno;
        ::unlink(path.c_str());
        fail(std::string("listen: ") + std::strerror(error));
        return;
    }
    path_ = path;
}

Inspector::~Inspector() {
    stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Inspector::start() {
    install_dump_signal();
    thread_ = std::thread([this] { run(); });
}

void Inspector::stop() noexcept {
    if (thread_.joinable()) {
        std::uint64_t one = 1;
        [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
        thread_.join();
        uninstall_dump_signal();
    }
    if (listen_fd_ >= 0) {
        ::close(listen_fd_);
        listen_fd_ = -1;
        ::unlink(path_.c_str());
    }
}

void Inspector::add_command(std::string name, std::function<std::string()> reply) {
    if (name.empty() || name.find_first_of(" \t\r\n") != std::string::npos)
        throw UsageError("weft::add_control_command: a command name is one word, got '" + name + "'");
    if (!reply) throw UsageError("weft::add_control_command: empty function for '" + name + "'");
    std::lock_guard lock(commands_mutex_);
    commands_[std::move(name)] = std::move(reply);
}

std::string Inspector::reply(std::string_view line) {
    std::string command = trim(line);
    try {
        if (command == "ps") return collect_dump(core_).table();
        if (command == "pstree") return collect_dump(core_).tree();
        if (command == "json") return collect_dump(core_).json();
        std::function<std::string()> fn;
        {
            std::lock_guard lock(commands_mutex_);
            auto it = commands_.find(command);
            if (it != commands_.end()) fn = it->second;
        }
        if (fn) return fn();
        // Prometheus text (observe/), unless the program answers `metrics` itself.
        if (command == "metrics") return metrics_text(core_);
        return "error: unknown command '" + command + "'\n";
    } catch (const std::exception& error) {
        return std::string("error: ") + error.what() + "\n";
    }
}

void Inspector::run() noexcept {
    ::pthread_setname_np(::pthread_self(), (core_.options().name + "-inspect").substr(0, 15).c_str());
    for (;;) {
        pollfd fds[2] = {{.fd = wake_fd_, .events = POLLIN, .revents = 0},
                         {.fd = listen_fd_, .events = POLLIN, .revents = 0}};
        int ready = ::poll(fds, listen_fd_ >= 0 ? 2 : 1, tick_ms_);
        if (ready > 0 && (fds[0].revents & POLLIN)) return;
        if (ready > 0 && listen_fd_ >= 0 && (fds[1].revents & POLLIN)) serve_one();
        if (core_.options().debug) watchdog();
        if (unsigned signals = g_dump_signals.load(std::memory_order_relaxed); signals != seen_signals_) {
            seen_signals_ = signals;
            try {
                spdlog::warn("weft: SIGUSR1: tasks of runtime '{}':\n{}", core_.options().name,
                             collect_dump(core_).tree());
            } catch (...) {
            }
        }
    }
}

void Inspector::serve_one() noexcept {
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    // A client that does not send its line within a second is dropped (this thread serves one
    // client at a time).
    timeval timeout{.tv_sec = 1, .tv_usec = 0};
    ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
    std::string line;
    char buffer[256];
    while (line.size() < 4096 && line.find('\n') == std::string::npos) {
        ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        line.append(buffer, static_cast<std::size_t>(n));
    }
    if (std::size_t newline = line.find('\n'); newline != std::string::npos) line.resize(newline);
    try {
        write_all(client, reply(line));
    } catch (...) {
    }
    ::close(client);
}

// Words for the code running in task `id`'s resume: the task, or the child running inline in it
// (the deepest one: `co_await spawn(blocking())` runs blocking() inside its parent's resume).
std::string Inspector::describe_running(std::uint64_t id) {
    auto describe = [](std::uint64_t task_id, const TaskRegistry::Entry& entry) {
        return fmt::format("task {} '{}' (spawned at {}:{})", task_id, entry.task->name_view(),
                           entry.trace.where.file_name(), entry.trace.where.line());
    };
    std::string host_words = fmt::format("task {}", id);
    const TaskHeader* host = nullptr;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> inlined;  // (id, parent) of children inlined in it
    std::map<std::uint64_t, std::string> words;
    core_.task_registry()->for_each_entry([&](std::uint64_t task_id, const TaskRegistry::Entry& entry) {
        if (task_id == id) {
            host = entry.task;
            host_words = describe(task_id, entry);
        }
    });
    if (!host) return host_words;
    core_.task_registry()->for_each_entry([&](std::uint64_t task_id, const TaskRegistry::Entry& entry) {
        if (entry.task->inline_host.load(std::memory_order_acquire) != host) return;
        inlined.emplace_back(task_id, entry.trace.parent);
        words[task_id] = describe(task_id, entry);
    });
    // The deepest: no other inlined child was spawned by it.
    for (auto [child, parent] : inlined) {
        bool has_inlined_child = false;
        for (auto [other, other_parent] : inlined) has_inlined_child |= other_parent == child;
        if (!has_inlined_child) return words[child] + ", running inline in " + host_words;
    }
    return host_words;
}

void Inspector::watchdog() noexcept {
    const std::uint64_t now = steady_ns();
    const auto threshold = static_cast<std::uint64_t>(std::chrono::nanoseconds(core_.options().slow_resume).count());
    for (unsigned i = 0; i < core_.worker_count(); ++i) {
        WorkerTrace* trace = core_.worker(i).trace();
        if (!trace) return;
        std::uint64_t started = trace->started_ns.load(std::memory_order_acquire);
        if (started == 0 || now < started || now - started < threshold) continue;
        std::uint64_t resume = trace->resume_count.load(std::memory_order_relaxed);
        if (reported_[i] == resume) continue;  // logged this one already
        reported_[i] = resume;
        std::uint64_t id = trace->task_id.load(std::memory_order_relaxed);
        try {
            std::string who = describe_running(id);
            {
                std::lock_guard lock(trace->culprit_mutex);
                trace->culprit_resume = resume;
                trace->culprit = who;
            }
            spdlog::warn("weft debug watchdog: worker {} of runtime '{}' has been running {} for {} ms without "
                         "returning to its loop: a blocking call?",
                         i, core_.options().name, who, (now - started) / 1'000'000);
        } catch (...) {
        }
    }
}

}  // namespace weft::detail

namespace weft {

void add_control_command(Runtime& runtime, std::string name, std::function<std::string()> reply) {
    detail::Inspector* inspector = runtime.core().inspector();
    if (!inspector || inspector->socket_path().empty())
        throw UsageError("weft::add_control_command: runtime '" + runtime.core().options().name +
                         "' serves no control socket (RuntimeOptions::control_socket or WEFT_CONTROL)");
    inspector->add_command(std::move(name), std::move(reply));
}

std::string control_socket_path(Runtime& runtime) {
    detail::Inspector* inspector = runtime.core().inspector();
    return inspector ? inspector->socket_path() : std::string();
}

}  // namespace weft
