#include "connection_pool.hpp"

#include <string_view>

#include <weft/error.hpp>
#include <weft/http/errors.hpp>
#include <weft/sleep.hpp>

namespace weft::http::detail {
namespace {

std::atomic<unsigned> next_thread_slot{0};

// This thread's slot: worker threads are long-lived, so each keeps one for good.
unsigned thread_slot() noexcept {
    thread_local unsigned slot = next_thread_slot.fetch_add(1, std::memory_order_relaxed) % ConnectionPool::kSlots;
    return slot;
}

bool idempotent(Method method) noexcept { return method != Method::post && method != Method::patch; }

bool sends_body(Method method, const std::string& body) noexcept {
    return !body.empty() || method == Method::post || method == Method::put || method == Method::patch;
}

// True if a Connection field of `headers` holds the token "close" (a comma-separated list,
// any case): RFC 9112 section 9.6 forbids another request on that connection.
bool asks_close(const Headers& headers) noexcept {
    for (const auto& field : headers) {
        if (!iequals(field.name, "connection")) continue;
        std::string_view rest = field.value;
        while (!rest.empty()) {
            std::size_t comma = rest.find(',');
            std::string_view token = rest.substr(0, comma);
            rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
            while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
            while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
            if (iequals(token, "close")) return true;
        }
    }
    return false;
}

}  // namespace

ConnectionPool::ConnectionPool(ClientOptions options)
    : options_(std::move(options)), max_idle_(options_.limit != 0 ? options_.limit : 100) {
    if (options_.limit != 0) limit_ = std::make_unique<Semaphore>(options_.limit);
}

ConnectionPool::~ConnectionPool() = default;

Semaphore* ConnectionPool::host_limit(const std::string& origin) {
    std::lock_guard lock(host_limits_mutex_);
    auto& slot = host_limits_[origin];
    if (!slot) slot = std::make_unique<Semaphore>(options_.limit_per_host);
    return slot.get();
}

const tls::Context& ConnectionPool::tls_context() {
    // A CA file that cannot be loaded throws here (TlsError naming it), and again next time.
    std::call_once(tls_once_, [this] {
        tls_ = tls::Context::client({.verify = options_.verify,
                                     .ca_file = options_.ca_file,
                                     .alpn = {"http/1.1"},
                                     .cert_file = options_.cert_file,
                                     .key_file = options_.key_file});
    });
    return tls_;
}

std::unique_ptr<ClientConnection> ConnectionPool::take(std::string_view origin, bool check) {
    const unsigned home = thread_slot();
    const auto now = weft::now();
    for (unsigned i = 0; i < kSlots; ++i) {
        Slot& slot = slots_[(home + i) % kSlots];
        std::unique_ptr<ClientConnection> found;
        std::vector<std::unique_ptr<ClientConnection>> expired;  // closed outside the lock
        {
            std::lock_guard lock(slot.mutex);
            auto it = slot.idle.find(origin);
            if (it == slot.idle.end()) continue;
            IdleList& list = it->second;
            while (!list.empty() && !found) {
                std::unique_ptr<ClientConnection> c = std::move(list.back());
                list.pop_back();
                idle_count_.fetch_sub(1, std::memory_order_relaxed);
                if (now - c->idle_since >= options_.keepalive_timeout) {
                    // The newest is stale: so is every older one.
                    expired.push_back(std::move(c));
                    for (auto& old : list) expired.push_back(std::move(old));
                    idle_count_.fetch_sub(list.size(), std::memory_order_relaxed);
                    list.clear();
                } else if (check && !c->still_open()) {
                    expired.push_back(std::move(c));
                } else {
                    found = std::move(c);
                }
            }
        }
        if (found) return found;
    }
    return nullptr;
}

void ConnectionPool::give_back(std::unique_ptr<ClientConnection> connection) noexcept {
    // Reserve an idle place first (a CAS, so that two returns racing at max_idle_ - 1 cannot
    // both get in: the cap is exact); full: the connection is closed.
    auto count = idle_count_.load(std::memory_order_relaxed);
    do {
        if (count >= max_idle_) return;
    } while (!idle_count_.compare_exchange_weak(count, count + 1, std::memory_order_relaxed));
    connection->idle_since = weft::now();
    connection->reused = true;
    Slot& slot = slots_[thread_slot()];
    try {
        std::lock_guard lock(slot.mutex);
        auto it = slot.idle.find(connection->origin());
        if (it == slot.idle.end()) it = slot.idle.emplace(connection->origin(), IdleList{}).first;
        it->second.push_back(std::move(connection));
    } catch (...) {
        // Out of memory for the list: the connection is closed instead, its place given back.
        idle_count_.fetch_sub(1, std::memory_order_relaxed);
    }
}

void ConnectionPool::close_idle() noexcept {
    for (Slot& slot : slots_) {
        decltype(slot.idle) idle;
        {
            std::lock_guard lock(slot.mutex);
            idle.swap(slot.idle);
        }
        for (auto& [origin, list] : idle) idle_count_.fetch_sub(list.size(), std::memory_order_relaxed);
    }
}

void ConnectionPool::serialize(Method method, const Url& url, const Headers& headers, const std::string& body,
                               std::string& out) const {
    out.clear();
    out += to_string(method);
    out += ' ';
    out += url.target;
    out += " HTTP/1.1\r\n";
    if (!headers.contains("host")) {
        out += "Host: ";
        out += url.authority();
        out += "\r\n";
    }
    if (!options_.user_agent.empty() && !headers.contains("user-agent")) {
        out += "User-Agent: ";
        out += options_.user_agent;
        out += "\r\n";
    }
    for (const auto& field : headers) {
        // The framing is ours: the body is sent with its Content-Length.
        if (iequals(field.name, "content-length") || iequals(field.name, "transfer-encoding")) continue;
        out += field.name;
        out += ": ";
        out += field.value;
        out += "\r\n";
    }
    if (sends_body(method, body)) {
        out += "Content-Length: ";
        out += std::to_string(body.size());
        out += "\r\n";
    }
    out += "\r\n";
    out += body;
}

Task<ClientResponse> ConnectionPool::send(Method method, const Url& url, std::string url_text, const Headers& headers,
                                          const std::string& body, const Deadlines& deadlines) {
    ClientResponse response;
    response.pool_ = shared_from_this();
    response.url_ = std::move(url_text);
    response.deadlines_ = deadlines;
    if (limit_) response.permit_ = co_await limit_->acquire();
    if (options_.limit_per_host != 0) response.host_permit_ = co_await host_limit(url.origin())->acquire();

    const std::string origin = url.origin();
    for (unsigned attempt = 0;; ++attempt) {
        std::unique_ptr<ClientConnection> connection;
        if (attempt == 0) connection = take(origin, /*check=*/!idempotent(method));
        if (!connection) {
            const tls::Context* tls = nullptr;
            if (url.is_https()) {
                try {
                    tls = &tls_context();
                } catch (const tls::TlsError& e) {
                    throw ConnectError(response.url_, std::string("TLS set-up failed: ") + e.what());
                }
            }
            connection = co_await ClientConnection::open(url, response.url_, options_, tls, deadlines);
        }
        serialize(method, url, headers, body, connection->request);
        connection->close_requested = asks_close(headers);
        response.headers_.clear();
        response.reason_.clear();
        connection->parser.start(method == Method::head, &response.headers_, &response.reason_);
        bool retry = false;
        try {
            co_await connection->send(response.url_, deadlines);
            while (!connection->parser.head_complete()) co_await connection->receive(response.url_, deadlines);
        } catch (const ServerDisconnected&) {
            // A pooled connection the server closed while it was idle: nothing of a response
            // came, so an idempotent request may go again, once, on a fresh connection.
            if (!(connection->reused && !connection->parser.started() && idempotent(method) && attempt == 0)) throw;
            retry = true;
        }
        if (retry) continue;
        response.status_ = connection->parser.status();
        response.connection_ = std::move(connection);
        if (response.connection_->parser.message_complete() && response.connection_->parser.body().empty()) {
            response.finish_body();
        }
        co_return response;
    }
}

}  // namespace weft::http::detail
