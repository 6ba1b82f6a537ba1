// The control socket (control.hpp): ps, pstree, json and added commands over a Unix socket,
// a clear error for anything else, the file removed at shutdown; and tools/weft-pstree against it.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <weft/control.hpp>
#include <weft/error.hpp>
#include <weft/runtime.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/task_dump.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/peer_process.hpp"

using namespace std::chrono_literals;

namespace {

std::string socket_path(const char* tag) { return "/tmp/weft-obs-" + std::to_string(::getpid()) + "-" + tag + ".sock"; }

// One request: connect, send `line`, read until EOF.
std::string ask(const std::string& path, const std::string& line) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    ::shutdown(fd, SHUT_WR);  // (a line without a newline ends at EOF)
    std::string reply;
    char buffer[4096];
    for (ssize_t n; (n = ::read(fd, buffer, sizeof(buffer))) > 0;) reply.append(buffer, static_cast<std::size_t>(n));
    ::close(fd);
    return reply;
}

}  // namespace

TEST_CASE("obs_control: ps, pstree, json, an added command, unknown commands, the file goes at shutdown",
          "[obs][control]") {
    const std::string path = socket_path("cmds");
    {
        weft::Runtime rt(weft::RuntimeOptions{.workers = 2, .name = "ctl", .control_socket = path});
        CHECK(weft::control_socket_path(rt) == path);
        auto handle = rt.spawn([]() -> weft::Task<void> { co_await weft::sleep(1h); }(), "idler");
        std::string tree;
        for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
            tree = ask(path, "pstree\n");
            if (tree.find("'idler' suspended, awaiting sleep") != std::string::npos) break;
        }
        CHECK(tree.starts_with("runtime 'ctl' (2 workers, 1 tasks)\n"));
        CHECK(tree.find("'idler' suspended, awaiting sleep until +") != std::string::npos);
        std::string ps = ask(path, "ps\n");
        CHECK(ps.starts_with("      ID   PARENT STATE"));
        CHECK(ps.find("idler") != std::string::npos);
        std::string json = ask(path, "json\r\n");  // (a CR before the LF is fine)
        CHECK(json.starts_with("{\"runtime\":{\"name\":\"ctl\",\"workers\":2},\"tasks\":[{\"id\":"));
        CHECK(json.find("\"name\":\"idler\",\"state\":\"suspended\"") != std::string::npos);
        CHECK(ask(path, "frobnicate\n") == "error: unknown command 'frobnicate'\n");
        std::string metrics = ask(path, "metrics");  // (no newline: EOF ends it)
        CHECK(metrics.starts_with("# HELP weft_workers "));
        CHECK(metrics.find("\nweft_workers 2\n") != std::string::npos);
        CHECK(metrics.find("weft_worker_polls_total{worker=\"1\"} ") != std::string::npos);
        weft::add_control_command(rt, "metrics", [] { return std::string("weft_up 1\n"); });  // the program's own
        CHECK(ask(path, "metrics\n") == "weft_up 1\n");
        weft::add_control_command(rt, "boom", []() -> std::string { throw std::runtime_error("it broke"); });
        CHECK(ask(path, "boom\n") == "error: it broke\n");
        CHECK_THROWS_AS(weft::add_control_command(rt, "two words", [] { return std::string(); }), weft::UsageError);
        handle.cancel();
    }
    CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("obs_control: bad paths are UsageErrors, a stale socket file is replaced", "[obs][control]") {
    CHECK_THROWS_AS(weft::Runtime(weft::RuntimeOptions{.workers = 1, .control_socket = std::string(200, 'x')}),
                    weft::UsageError);
    const std::string plain = socket_path("plain");
    std::ofstream(plain) << "not a socket";
    CHECK_THROWS_AS(weft::Runtime(weft::RuntimeOptions{.workers = 1, .control_socket = plain}), weft::UsageError);
    std::filesystem::remove(plain);
    // Served by a live runtime: a second one refuses the path.
    const std::string path = socket_path("twice");
    {
        weft::Runtime first(weft::RuntimeOptions{.workers = 1, .control_socket = path});
        CHECK_THROWS_AS(weft::Runtime(weft::RuntimeOptions{.workers = 1, .control_socket = path}), weft::UsageError);
    }
    // A socket file nobody serves (its process died) is replaced.
    {
        int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", path.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
        ::close(fd);  // the file stays, nobody listens
    }
    {
        weft::Runtime rt(weft::RuntimeOptions{.workers = 1, .control_socket = path});
        CHECK(ask(path, "ps\n").starts_with("      ID"));
    }
    CHECK_FALSE(std::filesystem::exists(path));
    // No control socket: adding a command says so.
    weft::Runtime none({.workers = 1});
    CHECK_THROWS_AS(weft::add_control_command(none, "x", [] { return std::string(); }), weft::UsageError);
}

TEST_CASE("obs_control: tools/weft-pstree and weft-ps print the reply, a missing socket is a clear error",
          "[obs][control][tools]") {
    const std::string python = "/usr/bin/python3";
    if (!test::have_executable(python)) {
        WARN("python3 not found: skipped");
        return;
    }
    const std::string tools = std::string(WEFT_SOURCE_DIR) + "/tools/";
    const std::string path = socket_path("tools");
    weft::Runtime rt(weft::RuntimeOptions{.workers = 1, .name = "tools", .control_socket = path});
    auto handle = rt.spawn([]() -> weft::Task<void> { co_await weft::sleep(1h); }(), "tool-visible");
    auto run = [&](const std::string& command) {
        std::string out;
        FILE* pipe = ::popen(command.c_str(), "r");
        REQUIRE(pipe);
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
        int status = ::pclose(pipe);
        return std::make_pair(WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
    };
    std::pair<int, std::string> tree;
    for (auto deadline = std::chrono::steady_clock::now() + 20s; std::chrono::steady_clock::now() < deadline;) {
        tree = run(python + " " + tools + "weft-pstree " + path);
        if (tree.first != 0 || tree.second.find("awaiting sleep") != std::string::npos) break;
    }
    CHECK(tree.first == 0);
    CHECK(tree.second.find("'tool-visible' suspended, awaiting sleep") != std::string::npos);
    auto ps = run("WEFT_CONTROL=" + path + " " + python + " " + tools + "weft-ps");
    CHECK(ps.first == 0);
    CHECK(ps.second.find("tool-visible") != std::string::npos);
    auto missing = run(python + " " + tools + "weft-pstree /tmp/weft-obs-no-such.sock 2>&1");
    CHECK(missing.first == 2);
    CHECK(missing.second.find("no such socket") != std::string::npos);
    handle.cancel();
}
