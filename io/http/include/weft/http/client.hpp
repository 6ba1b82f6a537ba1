// weft::http::Client: an HTTP/1.1 client with a keep-alive connection pool (aiohttp's
// ClientSession + TCPConnector, hyper's Client).
//
//   using namespace std::chrono_literals;
//   weft::http::Client client({.limit = 100, .read_timeout = 10s});
//   weft::http::ClientResponse r = co_await client.get("http://127.0.0.1:8080/hello");
//   std::string body = co_await r.text();               // the connection goes back to the pool
//   auto posted = co_await client.request(weft::http::Method::post, "https://example.com/api",
//                                         {.headers = {{"Content-Type", "application/json"}},
//                                          .body = R"({"a": 1})"});
//
// Share one Client between many tasks on many workers (it is thread-safe); keep it alive while
// requests are in flight (responses keep the pool alive themselves). Destroy it inside the
// runtime (its idle sockets are registered with the workers' reactors).
//
// Pool: connections are kept per origin (scheme, host, port) after a response was read to its
// end, unless the response or the request (a Connection header among RequestOptions::headers
// holding "close") said Connection: close. `limit` bounds the connections in use at once
// (all hosts), `limit_per_host` those to one origin (0: no bound), as aiohttp's TCPConnector;
// a request waits (FIFO) for a free slot. Idle connections are kept up to `limit` (100 when
// limit is 0) and for `keepalive_timeout`. A connection the server closed while idle is found
// out when a request sent on it gets no answer: an idempotent request (GET, HEAD, PUT, DELETE,
// OPTIONS, TRACE) that received no byte of response is then sent again once, on a fresh
// connection (aiohttp and hyper do this); a POST or PATCH first checks the idle connection
// (one non-blocking peek) and is never resent.
// Idle lists are per worker thread, each under a short lock: a request takes a connection its
// worker last used (registered with that worker's reactor, so its I/O resumes there), else any
// worker's, else opens one. No lock is shared by all workers on the hot path (the limit is a
// Semaphore: one compare-and-swap).
//
// Timeouts (zero: none): connect_timeout for the name lookup, TCP connect and TLS handshake;
// read_timeout for each wait for bytes from the server (aiohttp's sock_read); total_timeout
// for the whole request, redirects and body included. Each raises RequestTimeout with its
// phase(). They are errors of the request, not cancellations (weft::timeout() around a request
// still cancels it as usual).
// Redirects: off by default (a 3xx is returned as is). max_redirects = N follows up to N
// (301/302/303 turn a POST into a GET, 307/308 keep the method and body) and raises
// TooManyRedirects beyond. Errors: see errors.hpp. Bad URLs and arguments: UsageError.
// Every request is a cancellation point; a cancelled request closes its connection.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <weft/http/client_response.hpp>
#include <weft/http/headers.hpp>
#include <weft/http/method.hpp>
#include <weft/task.hpp>

namespace weft::http {

struct ClientOptions {
    std::size_t limit = 100;          // connections in use at once, all hosts; 0: no bound
    std::size_t limit_per_host = 0;   // connections in use at once per origin; 0: no bound
    std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
    std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
    std::chrono::milliseconds total_timeout{0};
    unsigned max_redirects = 0;       // 0: redirects are returned, not followed
    std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(15)};  // idle connections
    std::string user_agent = "weft/0.1";
    // https:// only: verify the server's certificate chain and host name (on by default),
    // against `ca_file` (PEM) or, if empty, the system's store.
    bool verify = true;
    std::string ca_file{};
    // https:// only: a client certificate and its key (PEM), shown to servers that ask
    // (mutual TLS). Both or neither (UsageError).
    std::string cert_file{};
    std::string key_file{};
};

struct RequestOptions {
    Headers headers{};                         // added after Host and User-Agent (may replace them)
    std::string body{};                        // sent with Content-Length (when not empty, or for POST/PUT/PATCH)
    std::optional<unsigned> max_redirects{};   // this request's; else the client's
};

class Client {
public:
    explicit Client(ClientOptions options = {});
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    ~Client();

    /// Sends the request and reads the response's head (the body is read from the response).
    /// (The overloads without options exist instead of `RequestOptions options = {}`: g++ 12
    /// destroys a default argument built inside a co_await expression twice.)
    Task<ClientResponse> request(Method method, std::string url, RequestOptions options);
    Task<ClientResponse> request(Method method, std::string url);
    Task<ClientResponse> get(std::string url, RequestOptions options);
    Task<ClientResponse> get(std::string url);
    Task<ClientResponse> head(std::string url, RequestOptions options);
    Task<ClientResponse> head(std::string url);
    Task<ClientResponse> post(std::string url, std::string body, RequestOptions options);
    Task<ClientResponse> post(std::string url, std::string body);

    /// Closes every idle connection (in-use ones close when their responses end).
    void close_idle() noexcept;
    /// Connections now idle in the pool (for tests and monitoring).
    std::size_t idle_count() const noexcept;

private:
    std::shared_ptr<detail::ConnectionPool> pool_;
};

}  // namespace weft::http
