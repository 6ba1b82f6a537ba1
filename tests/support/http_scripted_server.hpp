// A scripted raw HTTP/1.1 server for the client tests, in-process (a weft TcpListener on
// 127.0.0.1:0): each request head it reads is answered with the exact bytes a script returns,
// so a test can send what no well-behaved server would (a 304 with a Content-Length, bare LF
// line ends, a close announced but not done).
//
//   weft::run([&]() -> weft::Task<void> {
//       test::ScriptedServer server([](const std::string& path) -> test::Reply {
//           if (path == "/304") return {"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n"};
//           return {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"};
//       });
//       auto serving = server.start();            // accepts until cancelled
//       ... client requests to server.url("/304") ...
//       server.connections();                     // connections accepted so far
//       server.requests();                        // "<connection>:<method> <path>", in order
//       co_await test::ScriptedServer::stop(std::move(serving));
//   }());
//
// Create it inside the runtime (its listener registers with a worker's reactor) and stop()
// it before it goes. It reads request heads only (the tests send GET and HEAD, which carry no
// body). A connection stays open until the client closes it, the Reply says close, or stop().
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/task_group.hpp>

namespace test {

struct Reply {
    std::string bytes;   // written as they are
    bool close = false;  // close the connection after writing them
};

class ScriptedServer {
public:
    using Script = std::function<Reply(const std::string& path)>;

    explicit ScriptedServer(Script script)
        : script_(std::move(script)),
          listener_(weft::net::TcpListener::bind(weft::net::SocketAddress::loopback_v4(0))) {}

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(listener_.local_address().port()) + path;
    }

    /// Accepts connections (each served by its own task) until the handle is cancelled.
    weft::JoinHandle<void> start() { return weft::spawn(serve(), "scripted-http"); }

    static weft::Task<void> stop(weft::JoinHandle<void> serving) {
        serving.cancel();
        try {
            co_await serving;
        } catch (const weft::CancelledError&) {
        }
    }

    int connections() const noexcept { return connections_.load(); }
    std::vector<std::string> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

private:
    weft::Task<void> serve() {
        // (accept_loop is a member, not a coroutine lambda: the lambda only forwards, so its
        // lifetime inside the co_await does not matter; g++ 12 mishandles such temporaries.)
        co_await weft::TaskGroup::run([this](weft::TaskGroup& group) { return accept_loop(group); });
    }

    weft::Task<void> accept_loop(weft::TaskGroup& group) {
        for (;;) {
            weft::net::TcpStream stream = co_await listener_.accept();
            int id = connections_.fetch_add(1) + 1;
            group.spawn(serve_connection(std::move(stream), id)).detach();  // the group waits for it
        }
    }

    weft::Task<void> serve_connection(weft::net::TcpStream stream, int id) {
        for (;;) {
            std::string request_line;
            std::string line;
            for (;;) {  // the head, up to its empty line
                line.clear();
                std::size_t n = co_await stream.read_until(line, '\n');
                if (n == 0 || line.back() != '\n') co_return;  // the client closed
                if (line == "\r\n") break;
                if (request_line.empty()) request_line = line.substr(0, line.size() - 2);
            }
            // "GET /path HTTP/1.1" -> "GET /path"
            std::string method_path = request_line.substr(0, request_line.rfind(' '));
            {
                std::lock_guard lock(mutex_);
                requests_.push_back(std::to_string(id) + ":" + method_path);
            }
            Reply reply = script_(method_path.substr(method_path.find(' ') + 1));
            co_await stream.write_all(reply.bytes);
            if (reply.close) co_return;
        }
    }

    Script script_;
    weft::net::TcpListener listener_;
    std::atomic<int> connections_{0};
    mutable std::mutex mutex_;
    std::vector<std::string> requests_;
};

}  // namespace test
