// External peers for the HTTP tests: a child process (nginx, a Python server) in its own
// process group, killed (SIGTERM, then SIGKILL after a deadline) and reaped when the object
// goes, plus the small helpers to start one.
//
//   auto dir = test::TempDir("nginx");                 // removed afterwards
//   std::uint16_t port = test::free_port();
//   test::PeerProcess nginx({"/usr/sbin/nginx", "-p", dir.path(), "-c", conf, "-g", "daemon off;"});
//   REQUIRE(test::wait_listening(port));               // polls connect() for up to 10 s
//   test::PeerProcess py({"/usr/bin/python3", script}, /*read_port=*/true);   // prints its port
//   py.port();
//
// Blocking calls: use them outside weft::run (or offloaded).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace test {

inline bool have_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// A port nothing listens on right now (bound to port 0, then closed).
inline std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

// True once 127.0.0.1:port accepts a connection (polled every 10 ms for up to `limit`).
inline bool wait_listening(std::uint16_t port, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        if (ok) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

class TempDir {
public:
    explicit TempDir(const std::string& tag) {
        std::string templ = "/tmp/weft_" + tag + "_XXXXXX";
        if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
        path_ = templ;
        ::chmod(path_.c_str(), 0755);  // nginx's workers run as nobody when we are root
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const noexcept { return path_; }
    std::string file(const std::string& name, const std::string& content) const {
        std::string p = path_ + "/" + name;
        std::ofstream(p, std::ios::binary) << content;
        ::chmod(p.c_str(), 0644);
        return p;
    }

private:
    std::string path_;
};

class PeerProcess {
public:
    // `read_port`: the child prints its listening port as its first line of stdout.
    explicit PeerProcess(std::vector<std::string> argv, bool read_port = false) {
        int out[2] = {-1, -1};
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        if (read_port) {
            if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
            posix_spawn_file_actions_adddup2(&actions, out[1], 1);
        }
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
        posix_spawnattr_setpgroup(&attr, 0);
        sigset_t none;
        sigemptyset(&none);
        posix_spawnattr_setsigmask(&attr, &none);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        int rc = ::posix_spawn(&pid_, args[0], &actions, &attr, args.data(), environ);
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
        if (read_port) ::close(out[1]);
        if (rc != 0) {
            if (read_port) ::close(out[0]);
            throw std::runtime_error("posix_spawn " + argv[0] + " failed");
        }
        if (read_port) {
            std::string line;
            auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < end) {
                pollfd p{out[0], POLLIN, 0};
                if (::poll(&p, 1, 100) <= 0) continue;
                char buf[64];
                ssize_t n = ::read(out[0], buf, sizeof buf);
                if (n <= 0) break;
                line.append(buf, static_cast<std::size_t>(n));
            }
            ::close(out[0]);
            port_ = static_cast<std::uint16_t>(std::atoi(line.c_str()));
            if (port_ == 0) {
                stop();
                throw std::runtime_error(argv[0] + " did not print its port");
            }
        }
    }
    ~PeerProcess() { stop(); }
    PeerProcess(const PeerProcess&) = delete;
    PeerProcess& operator=(const PeerProcess&) = delete;

    std::uint16_t port() const noexcept { return port_; }

    // SIGTERM to the whole group, SIGKILL if it has not exited within 5 s; reaps the child.
    void stop() noexcept {
        if (pid_ <= 0) return;
        ::kill(-pid_, SIGTERM);
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (std::chrono::steady_clock::now() > end) {
                ::kill(-pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        ::kill(-pid_, SIGKILL);  // stragglers of the group (nginx's workers)
        pid_ = -1;
    }

private:
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace test
