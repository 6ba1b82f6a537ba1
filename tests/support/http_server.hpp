// Helpers for the HTTP server tests (tests/http_server_*.cpp).
//
//   auto out = test::with_server(router, {}, [](std::uint16_t port) -> weft::Task<std::string> {
//       co_return co_await test::exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
//   });
//   auto responses = test::split_responses(out);   // each whole response, in order
//
// with_server runs a weft::http::Server on 127.0.0.1 port 0 inside weft::run, awaits `body`
// with the port, then cancels serve() (a graceful stop) and waits for it.
#pragma once

#include <stdio.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/detail/awaitable.hpp>
#include <weft/error.hpp>
#include <weft/http/server.hpp>
#include <weft/io_error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

namespace test {

template <class F>
auto with_server(weft::http::Router router, weft::http::ServerOptions options, F body,
                 weft::RuntimeOptions runtime = {.workers = 2}) {
    using R = std::remove_cvref_t<weft::detail::await_result_t<std::invoke_result_t<F, std::uint16_t>>>;
    return weft::run(
        [](weft::http::Router router, weft::http::ServerOptions options, F body) -> weft::Task<R> {
            weft::http::Server server(std::move(router), options);
            server.listen(weft::net::SocketAddress::ip("127.0.0.1", 0));
            auto serving = weft::spawn(server.serve(), "http");
            R result = co_await body(server.local_address().port());
            serving.cancel();
            try {
                co_await serving;
            } catch (const weft::CancelledError&) {
            }
            co_return result;
        }(std::move(router), std::move(options), std::move(body)),
        runtime);
}

/// Connects, sends `request` (in one write), reads until the server closes.
inline weft::Task<std::string> exchange(std::uint16_t port, std::string request) {
    auto stream = co_await weft::net::TcpStream::connect("127.0.0.1", port);
    co_await stream.write_all(request);
    std::string got;
    char buf[65536];
    for (;;) {
        std::size_t n = 0;
        try {
            n = co_await stream.read(buf, sizeof buf);
        } catch (const weft::IoError&) {
            break;  // reset after the server's close: what was read is the answer
        }
        if (n == 0) break;
        got.append(buf, n);
    }
    co_return got;
}

/// Splits a stream of responses with Content-Length bodies (or none) into whole responses.
inline std::vector<std::string> split_responses(std::string_view all) {
    std::vector<std::string> out;
    while (!all.empty()) {
        auto head_end = all.find("\r\n\r\n");
        if (head_end == std::string_view::npos) {
            out.emplace_back(all);
            break;
        }
        std::string_view head = all.substr(0, head_end + 4);
        std::size_t length = 0;
        auto at = head.find("Content-Length: ");
        if (at != std::string_view::npos)
            length = std::strtoul(std::string(head.substr(at + 16, 20)).c_str(), nullptr, 10);
        std::size_t total = std::min(all.size(), head.size() + length);
        out.emplace_back(all.substr(0, total));
        all.remove_prefix(total);
    }
    return out;
}

/// The body of one whole response (after the blank line).
inline std::string body_of(std::string_view response) {
    auto at = response.find("\r\n\r\n");
    return at == std::string_view::npos ? std::string() : std::string(response.substr(at + 4));
}

inline bool have(const char* tool) {
    return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

struct Finished {
    std::string output;
    int status = -1;
};

/// popen(3): the whole stdout, then the exit status (blocking: call it through weft::offload).
inline Finished run_process(const std::string& command) {
    Finished done;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (!pipe) return done;
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) done.output.append(buf, n);
    int status = ::pclose(pipe);
    done.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return done;
}

}  // namespace test
