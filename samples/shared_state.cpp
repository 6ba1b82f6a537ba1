// shared_state: tasks run in parallel on every worker, so state they share needs an atomic or
// a weft::Lock (a plain `++hits` would lose updates: two workers can read the same old value).
#include <weft/weft.hpp>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

struct Stats {
    std::atomic<std::uint64_t> requests{0};   // one number: an atomic is enough
    weft::Lock lock;                          // several fields changed together: a Lock
    std::map<std::string, std::uint64_t> by_path;
};

weft::Task<> handle(Stats& stats, std::string path) {
    stats.requests.fetch_add(1, std::memory_order_relaxed);
    auto held = co_await stats.lock.lock();  // held until `held` leaves scope
    ++stats.by_path[path];
}

weft::Task<> serve(Stats& stats, int count) {
    std::vector<weft::JoinHandle<void>> handles;
    for (int i = 0; i < count; ++i) {
        handles.push_back(weft::spawn(handle(stats, i % 4 == 0 ? "/index" : "/api")));
    }
    for (auto& handle : handles) co_await std::move(handle);
}

int main() {
    Stats stats;  // outlives every task that uses it: run() returns after they have finished
    weft::run(serve(stats, 100'000), weft::RuntimeOptions{.workers = 2});
    std::cout << "requests = " << stats.requests << ", /index = " << stats.by_path["/index"]
              << ", /api = " << stats.by_path["/api"] << '\n';
}
