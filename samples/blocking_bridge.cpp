// blocking_bridge: the tutorials' comparison for blocking calls (a legacy client library, a
// synchronous driver) under an event loop: run them one after another, on a pool of threads,
// or with weft::offload (asyncio.to_thread) from concurrent tasks. Each variant runs in a
// child process of its own, so the peak RSS printed is that variant's alone; wall time and
// peak RSS are printed, never checked: the check is that every variant computed the same
// results. `--small` runs fewer, shorter calls (the test suite's size).
//
// readme: begin asyncio
//   results = [blocking_call(i) for i in range(n)]                           # sequential
//   with ThreadPoolExecutor(8) as pool: results = list(pool.map(blocking_call, range(n)))
//   results = await asyncio.gather(*(asyncio.to_thread(blocking_call, i) for i in range(n)))
// readme: end asyncio
#include <weft/weft.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

int g_calls = 32;
std::chrono::milliseconds g_block{20};

// The blocking call: waits like a synchronous network client, then digests a 256 KiB reply.
std::uint64_t blocking_call(int i) {
    std::this_thread::sleep_for(g_block);
    std::vector<std::uint8_t> reply(256 * 1024);
    for (std::size_t k = 0; k < reply.size(); ++k) reply[k] = static_cast<std::uint8_t>(k * 31 + i);
    std::uint64_t hash = 1469598103934665603ull;  // FNV-1a
    for (std::uint8_t byte : reply) hash = (hash ^ byte) * 1099511628211ull;
    return hash;
}

std::uint64_t checksum(const std::vector<std::uint64_t>& results) {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < results.size(); ++i) sum += results[i] * (i + 1);  // order matters
    return sum;
}

// --- the three variants: each returns the results in call order --------------------------
std::vector<std::uint64_t> sequential() {
    std::vector<std::uint64_t> results;
    for (int i = 0; i < g_calls; ++i) results.push_back(blocking_call(i));
    return results;
}

std::vector<std::uint64_t> thread_pool() {
    std::vector<std::uint64_t> results(g_calls);
    std::atomic<int> next{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 8; ++t) {
        pool.emplace_back([&] {
            for (int i; (i = next.fetch_add(1)) < g_calls;) results[i] = blocking_call(i);
        });
    }
    for (auto& thread : pool) thread.join();
    return results;
}

// readme: begin offload
weft::Task<std::uint64_t> call_offloaded(int i) {
    co_return co_await weft::offload(blocking_call, i);  // await asyncio.to_thread(blocking_call, i)
}

std::vector<std::uint64_t> offloaded() {
    return weft::run(
        []() -> weft::Task<std::vector<std::uint64_t>> {
            std::vector<weft::Task<std::uint64_t>> calls;
            for (int i = 0; i < g_calls; ++i) calls.push_back(call_offloaded(i));
            co_return co_await weft::gather(std::move(calls));
        }(),
        weft::RuntimeOptions{.workers = 2});
}
// readme: end offload

// Runs `variant` in a child process; returns its checksum (0 if the child failed).
std::uint64_t measure(const char* name, std::vector<std::uint64_t> (*variant)()) {
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0) return 0;
    std::cout.flush();
    pid_t child = fork();
    if (child == 0) {
        close(pipe_fds[0]);
        auto start = std::chrono::steady_clock::now();
        std::uint64_t sum = checksum(variant());
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        char line[128];
        int n = std::snprintf(line, sizeof line, "%.1f %ld %llu", ms, usage.ru_maxrss,
                              static_cast<unsigned long long>(sum));
        bool sent = write(pipe_fds[1], line, static_cast<std::size_t>(n)) == n;
        close(pipe_fds[1]);
        std::exit(sent ? 0 : 1);
    }
    close(pipe_fds[1]);
    char line[128] = {};
    std::size_t got = 0;
    for (ssize_t n; got < sizeof line - 1 && (n = read(pipe_fds[0], line + got, sizeof line - 1 - got)) > 0;) got += n;
    close(pipe_fds[0]);
    int status = 0;
    waitpid(child, &status, 0);
    double ms = 0;
    long rss_kib = 0;
    unsigned long long sum = 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || std::sscanf(line, "%lf %ld %llu", &ms, &rss_kib, &sum) != 3) {
        std::cout << name << ": the child failed\n";
        return 0;
    }
    std::printf("%-12s %8.1f ms  peak RSS %6ld KiB  checksum %016llx\n", name, ms, rss_kib, sum);
    std::fflush(stdout);
    return sum;
}

int main(int argc, char** argv) {
    if (argc > 1 && std::strcmp(argv[1], "--small") == 0) {
        g_calls = 8;
        g_block = std::chrono::milliseconds(5);
    }
    std::printf("%d blocking calls of %lld ms each\n", g_calls, static_cast<long long>(g_block.count()));
    std::fflush(stdout);
    std::uint64_t expected = 0;  // computed here without the waits
    {
        auto block = std::exchange(g_block, std::chrono::milliseconds(0));
        expected = checksum(sequential());
        g_block = block;
    }
    std::uint64_t a = measure("sequential", sequential);
    std::uint64_t b = measure("thread pool", thread_pool);
    std::uint64_t c = measure("offload", offloaded);
    if (a != expected || b != expected || c != expected) {
        std::cout << "blocking_bridge: a variant computed a wrong result\n";
        return 1;
    }
    std::cout << "blocking_bridge: sequential, thread pool and offload computed the same " << g_calls << " results\n";
}
