// samples/http_server: an HTTP/1.1 server with a few routes, one listener per core and a
// graceful shutdown on SIGINT or SIGTERM.
//
//   http_server [--port PORT] [--workers N]     (port 8080 by default; 0 picks a free one)
//
//   GET  /                 Hello, World!  (the benchmark route: 13 bytes, Content-Length)
//   GET  /users/{id}       {"id": "<id>", "name": "user <id>"}
//   POST /echo             the request body back (up to 1 MiB; 413 beyond)
//   GET  /stream/{n}       n lines, streamed (chunked), never all in memory
//   GET  /metrics          the runtime's metrics, Prometheus text (tools/weft-top --url reads it)
//
// Prints "listening on 127.0.0.1:PORT" once it accepts connections. On SIGINT/SIGTERM it
// stops accepting, closes idle connections, lets requests in progress finish (up to 5 s),
// then exits 0.
#include <signal.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <weft/http/http_error.hpp>
#include <weft/http/metrics_handler.hpp>
#include <weft/http/server.hpp>
#include <weft/run.hpp>
#include <weft/shutdown.hpp>
#include <weft/signal.hpp>

using namespace std::chrono_literals;
using weft::http::Request;
using weft::http::Response;

namespace {

weft::http::Router routes() {
    weft::http::Router router;
    router.get("/", [](Request&) -> weft::Task<Response> { co_return Response::text("Hello, World!"); });
    router.get("/users/{id}", [](Request& req) -> weft::Task<Response> {
        std::string id(req.path_param("id"));
        // It goes into JSON as it came: refuse what would need escaping (answered 400).
        for (char c : id)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
                throw weft::http::HttpError(400, "a user id is letters, digits, '-' and '_'");
        co_return Response::json(R"({"id": ")" + id + R"(", "name": "user )" + id + R"("})");
    });
    router.post("/echo", [](Request& req) -> weft::Task<Response> {
        std::string_view body = co_await req.body();
        co_return Response::text(std::string(body));
    });
    router.get("/stream/{n}", [](Request& req) -> weft::Task<Response> {
        int n = 0;
        std::string_view arg = req.path_param("n");
        std::from_chars(arg.data(), arg.data() + arg.size(), n);
        co_return Response::stream(
            [n](weft::http::BodyWriter& out) -> weft::Task<void> {
                for (int i = 0; i < n; ++i) co_await out.write("line " + std::to_string(i) + "\n");
            },
            std::nullopt, "text/plain");
    });
    router.get("/metrics", weft::http::metrics_handler());
    return router;
}

weft::Task<int> serve(std::uint16_t port) {
    weft::SignalListener signals({SIGINT, SIGTERM});  // from here on, these do not kill us
    weft::http::Server server(routes(), {.graceful_timeout = 5s});
    server.listen(weft::net::SocketAddress::ip("127.0.0.1", port));
    weft::Shutdown shutdown;
    shutdown.spawn(server.serve(), "http");
    std::printf("listening on %s\n", server.local_address().to_string().c_str());
    std::fflush(stdout);

    int signal = co_await signals.recv();
    std::size_t open = server.connections();
    weft::ShutdownReport report = co_await shutdown.run(10s);  // serve() stops gracefully
    std::fprintf(stderr, "http_server: signal %d: %zu connection(s) were open; stopped %s\n", signal, open,
                 report.clean() ? "cleanly" : "with stragglers");
    co_return report.clean() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    long port = 8080;
    long workers = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            workers = std::strtol(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr, "usage: http_server [--port PORT] [--workers N]\n");
            return 2;
        }
    }
    if (port < 0 || port > 65535 || workers < 0) {
        std::fprintf(stderr, "usage: http_server [--port PORT] [--workers N]\n");
        return 2;
    }
    return weft::run(serve(static_cast<std::uint16_t>(port)), {.workers = static_cast<unsigned>(workers)});
}
