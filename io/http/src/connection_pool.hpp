// The client's keep-alive pool (private to weft_http), shared by the Client and the responses
// it handed out (a response may outlive the Client).
//
//   std::unique_ptr<ClientConnection> c = pool.take(origin, /*check=*/false);  // or nullptr
//   ...the response read to its end...
//   pool.give_back(std::move(c));     // idle again, for the next request to `origin`
//
// Idle connections live in kSlots slots, one per worker thread (a thread takes slot
// "its number mod kSlots"), each a map origin -> connections (most recently used last) under
// its own mutex, held only to push or pop. A connection is given back on the thread whose
// reactor it is registered with (the read that finished the body resumed there), so take()
// tries its own slot first, keeping connections on their worker; then the other slots, so an
// idle connection is always found before a new one is opened.
// The limits are Semaphores held by each response (in ConnectionPool::send).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <weft/http/client.hpp>
#include <weft/http/url.hpp>
#include <weft/semaphore.hpp>
#include <weft/task.hpp>

#include "client_connection.hpp"

namespace weft::http::detail {

class ConnectionPool : public std::enable_shared_from_this<ConnectionPool> {
public:
    static constexpr unsigned kSlots = 16;

    explicit ConnectionPool(ClientOptions options);
    ~ConnectionPool();

    const ClientOptions& options() const noexcept { return options_; }

    /// One request on one connection (a fresh one if the pooled one turns out closed before
    /// answering and the method is idempotent), holding the limits' permits; returns once the
    /// response head has been read.
    Task<ClientResponse> send(Method method, const Url& url, std::string url_text, const Headers& headers,
                              const std::string& body, const Deadlines& deadlines);

    /// An idle connection to `origin`, or nullptr. `check`: peek that the server has not
    /// closed it (for requests that must not be sent twice).
    std::unique_ptr<ClientConnection> take(std::string_view origin, bool check);
    /// Keeps `connection` for reuse (or closes it if the pool is full).
    void give_back(std::unique_ptr<ClientConnection> connection) noexcept;
    void close_idle() noexcept;
    std::size_t idle_count() const noexcept { return idle_count_.load(std::memory_order_relaxed); }

private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    using IdleList = std::vector<std::unique_ptr<ClientConnection>>;
    struct alignas(64) Slot {
        std::mutex mutex;
        std::unordered_map<std::string, IdleList, StringHash, std::equal_to<>> idle;
    };

    Semaphore* host_limit(const std::string& origin);
    const tls::Context& tls_context();  // made on the first https:// request
    void serialize(Method method, const Url& url, const Headers& headers, const std::string& body,
                   std::string& out) const;

    ClientOptions options_;
    std::unique_ptr<Semaphore> limit_;  // null: no limit
    std::size_t max_idle_;
    std::atomic<std::size_t> idle_count_{0};
    std::array<Slot, kSlots> slots_;
    std::once_flag tls_once_;
    tls::Context tls_;
    std::mutex host_limits_mutex_;  // only when limit_per_host is set
    std::unordered_map<std::string, std::unique_ptr<Semaphore>> host_limits_;
};

}  // namespace weft::http::detail
