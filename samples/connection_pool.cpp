// connection_pool: 200 queries from concurrent tasks share at most 4 (pretend) connections.
// A connection that fails mid-query is dropped, not reused; a health check replaces stale
// ones. Exits 1 if more than 4 connections ever existed at once or a query went missing.
#include <weft/weft.hpp>

#include <atomic>
#include <iostream>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;

std::atomic<int> open_now{0};
std::atomic<int> open_most{0};
std::atomic<int> opened{0};

class Connection {
public:
    static weft::Task<Connection> open() {
        co_await weft::sleep(1ms);  // the handshake
        co_return Connection(opened.fetch_add(1) + 1);
    }
    Connection(Connection&& other) noexcept : id_(std::exchange(other.id_, 0)) {}
    ~Connection() {
        if (id_) open_now.fetch_sub(1);
    }
    weft::Task<int> query(int n) {
        co_await weft::sleep(1ms);
        if (n % 50 == 49) throw std::runtime_error("connection reset");  // this one is now broken
        co_return n * 2;
    }
    bool alive() const { return id_ != 0; }

private:
    explicit Connection(int id) : id_(id) {
        int now = open_now.fetch_add(1) + 1;
        for (int most = open_most.load(); now > most && !open_most.compare_exchange_weak(most, now);) {
        }
    }
    int id_;
};

// readme: begin pool
weft::Task<bool> run_query(weft::Pool<Connection>& pool, int n) {
    try {
        auto conn = co_await pool.acquire();  // waits while all 4 are in use
        co_return co_await conn->query(n) == n * 2;
    } catch (const std::runtime_error&) {  // the lease was dropped as the error unwound through it
        co_return n % 50 == 49;
    }
}

weft::Task<int> run_queries(int count) {
    weft::Pool<Connection> pool({.max_size = 4,
                                 .factory = Connection::open,
                                 .health_check = [](Connection& c) -> weft::Task<bool> { co_return c.alive(); }});
// readme: end pool
    std::vector<weft::JoinHandle<bool>> handles;
    for (int n = 0; n < count; ++n) handles.push_back(weft::spawn(run_query(pool, n)));
    int right = 0;
    for (auto& handle : handles) right += co_await std::move(handle) ? 1 : 0;
    co_return right;
}

int main() {
    const int count = 200;
    int right = weft::run(run_queries(count), weft::RuntimeOptions{.workers = 2});
    if (right != count || open_most > 4 || open_now != 0) {
        std::cout << "connection_pool: " << right << " of " << count << " right, " << open_most
                  << " connections at once, " << open_now << " left open\n";
        return 1;
    }
    std::cout << "connection_pool: " << count << " queries on at most 4 connections, broken ones replaced\n";
}
