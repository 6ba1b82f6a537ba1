// crawl (shared/bench/SPEC.md): the HTTP client side. N GETs of one URL, at most K in flight
// (a Semaphore acquired before each spawn, as the Tokio and Go anchors do), through one
// weft::http::Client whose pool may keep K connections. check = the number of successful
// requests (status 200, body read in full).
//
//   weft_bench_crawl URL [--n 100000] [--k 1000] [--threads nproc]
//   e.g. shared/bench/nginx-hello.sh start 8080; weft_bench_crawl http://127.0.0.1:8080/hello
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/bench.hpp"

namespace {

struct Counts {
    std::atomic<std::uint64_t> ok{0};
    std::atomic<std::uint64_t> errors{0};
    std::atomic<std::uint64_t> bytes{0};
};

weft::Task<void> fetch(weft::http::Client& client, const std::string& url, Counts& counts,
                       weft::Semaphore::Guard permit) {
    try {
        weft::http::ClientResponse r = co_await client.get(url);
        std::string body = co_await r.text();
        if (r.status() == 200) {
            counts.ok.fetch_add(1, std::memory_order_relaxed);
            counts.bytes.fetch_add(body.size(), std::memory_order_relaxed);
        } else if (counts.errors.fetch_add(1, std::memory_order_relaxed) < 5) {
            std::fprintf(stderr, "crawl: status %d\n", r.status());
        }
    } catch (const std::exception& e) {
        if (counts.errors.fetch_add(1, std::memory_order_relaxed) < 5) std::fprintf(stderr, "crawl: %s\n", e.what());
    }
}

weft::Task<bench::Outcome> root(std::string url, std::uint64_t n, std::size_t k, Counts& counts) {
    weft::http::Client client({.limit = k, .limit_per_host = 0});
    weft::Semaphore in_flight(k);
    bench::Stopwatch clock;
    for (std::uint64_t i = 0; i < n; ++i) {
        weft::Semaphore::Guard permit = co_await in_flight.acquire();
        weft::spawn(fetch(client, url, counts, std::move(permit))).detach();
    }
    // Every request has ended once all K permits are back.
    std::vector<weft::Semaphore::Guard> drained;
    for (std::size_t i = 0; i < k; ++i) drained.push_back(co_await in_flight.acquire());
    co_return bench::Outcome{counts.ok.load(), clock.ms()};
}

[[noreturn]] void usage(const char* program) {
    std::fprintf(stderr, "usage: %s URL [--n 100000] [--k 1000] [--threads N]\n", program);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::string url;
    std::uint64_t n = 100'000;
    std::size_t k = 1'000;
    unsigned threads = bench::nproc();
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&]() -> std::uint64_t {
            if (i + 1 >= argc) usage(argv[0]);
            return std::strtoull(argv[++i], nullptr, 10);
        };
        if (arg == "--n") {
            n = value();
        } else if (arg == "--k") {
            k = value();
        } else if (arg == "--threads") {
            threads = static_cast<unsigned>(value());
        } else if (url.empty() && arg.rfind("--", 0) != 0) {
            url = arg;
        } else {
            usage(argv[0]);
        }
    }
    if (url.empty() || k == 0 || threads == 0) usage(argv[0]);
    Counts counts;
    bench::Outcome out = weft::run(root(url, n, k, counts), weft::RuntimeOptions{.workers = threads, .name = "bench"});
    std::printf("RESULT crawl weft wall_ms=%.0f req_per_s=%.0f check=%llu errors=%llu n=%llu k=%zu threads=%u\n",
                out.ms, double(n) / (out.ms / 1000.0), static_cast<unsigned long long>(out.check),
                static_cast<unsigned long long>(counts.errors.load()), static_cast<unsigned long long>(n), k, threads);
    return out.check == n ? 0 : 1;
}
