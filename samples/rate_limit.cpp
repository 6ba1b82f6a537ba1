// rate_limit: 20 tasks call a (pretend) API that allows 100 requests per second with bursts of
// 10. A shared weft::RateLimiter keeps them within it: by any instant t, at most
// 10 + 100 * t requests have started. Exits 1 if the limit was ever exceeded.
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <vector>

using namespace std::chrono_literals;

struct Api {
    weft::Clock::time_point start = weft::now();
    std::atomic<std::int64_t> started{0};
    std::atomic<int> over_limit{0};

    weft::Task<void> call() {
        const std::int64_t n = started.fetch_add(1) + 1;
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(weft::now() - start).count();
        if (n > 10 + 100 * us / 1'000'000 + 1) over_limit.fetch_add(1);  // (+1: the clock's rounding)
        co_await weft::sleep(1ms);
    }
};

// readme: begin limiter
weft::Task<void> client(weft::RateLimiter& limiter, Api& api, int calls) {
    for (int i = 0; i < calls; ++i) {
        co_await limiter.acquire();  // FIFO: every client gets its turn
        co_await api.call();
    }
}

weft::Task<void> run_clients(Api& api) {
    weft::RateLimiter limiter({.rate = 100, .burst = 10});
    std::vector<weft::JoinHandle<void>> handles;
    for (int c = 0; c < 20; ++c) handles.push_back(weft::spawn(client(limiter, api, 3)));
// readme: end limiter
    for (auto& handle : handles) co_await std::move(handle);
}

int main() {
    Api api;
    weft::run(run_clients(api), weft::RuntimeOptions{.workers = 2});
    const auto elapsed = weft::now() - api.start;
    // 60 requests: 10 at once, the other 50 at 100 per second, so at least 0.5 s.
    if (api.started != 60 || api.over_limit != 0 || elapsed < 490ms) {
        std::cout << "rate_limit: " << api.started << " requests, " << api.over_limit << " over the limit\n";
        return 1;
    }
    std::cout << "rate_limit: 60 requests from 20 tasks, never above 10 + 100 per second\n";
}
