// deadlines (issue 16 item 14): a server's shape, where every request runs under a generous
// deadline and finishes long before it. `conns` connection tasks each serve n/conns short
// requests in turn; a request opens timeout(30s), waits for a completion that arrives from
// another thread (as from a blocking pool or another service: it resumes on whichever worker
// takes it from the injection queue, so the scope often ends on another worker than the one
// whose wheel holds its entry), and leaves the scope. Reported: wall time, the share of requests whose scope
// ended on another worker (hops), the most timer entries linked in the wheels at once while
// it ran (sampled by a monitor task) and at the end, and peak RSS. An entry left behind by a
// scope that ended elsewhere would live 30 s: without prompt freeing, live_entries_max grows
// to the number of hops. Serial reference: n requests served.
//
//   weft_bench_deadlines [n=1000000] [conns=1000] [threads=nproc]
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include <weft/detail/context.hpp>
#include <weft/event.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>

#include "common/bench.hpp"

using namespace std::chrono_literals;

namespace {

struct Shared {
    std::atomic<std::uint64_t> hops{0};
    std::atomic<std::size_t> live_max{0};
    std::atomic<bool> done{false};
    // The completer: a plain thread that sets the events handed to it.
    std::mutex mutex;
    std::vector<weft::Event*> pending;
};

void complete_events(Shared* shared) {
    std::vector<weft::Event*> batch;
    while (!shared->done.load(std::memory_order_acquire)) {
        {
            std::lock_guard lock(shared->mutex);
            batch.swap(shared->pending);
        }
        for (weft::Event* event : batch) event->set();
        if (batch.empty()) std::this_thread::yield();
        batch.clear();
    }
}

// `completion` outlives the completer thread (root owns it): set() may still be returning
// when the connection has already resumed.
weft::Task<std::uint64_t> connection(std::uint64_t requests, weft::Event* completion, Shared* shared) {
    std::uint64_t served = 0;
    std::uint64_t hops = 0;
    for (std::uint64_t r = 0; r < requests; ++r) {
        const void* armed_on = weft::detail::tls_context.worker;
        {
            auto deadline = weft::timeout(30s);
            completion->clear();
            {
                std::lock_guard lock(shared->mutex);
                shared->pending.push_back(completion);
            }
            co_await completion->wait();
            hops += weft::detail::tls_context.worker != armed_on ? 1 : 0;
        }
        ++served;
    }
    shared->hops.fetch_add(hops, std::memory_order_relaxed);
    co_return served;
}

// Samples the wheels' entry count between requests (a relaxed read per worker).
weft::Task<void> monitor(Shared* shared) {
    while (!shared->done.load(std::memory_order_relaxed)) {
        std::size_t live = weft::detail::armed_timer_entries();
        if (live > shared->live_max.load(std::memory_order_relaxed)) shared->live_max.store(live);
        co_await weft::sleep(1ms);
    }
}

struct Out {
    bench::Outcome outcome;
    std::uint64_t hops = 0;
    std::size_t live_max = 0;
    std::size_t live_end = 0;
};

weft::Task<Out> root(std::uint64_t n, std::uint64_t conns) {
    Shared shared;
    std::thread completer(complete_events, &shared);
    auto watcher = weft::spawn(monitor(&shared));
    bench::Stopwatch clock;
    std::vector<weft::Event> completions(conns);
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    handles.reserve(conns);
    for (std::uint64_t c = 0; c < conns; ++c)
        handles.push_back(weft::spawn(connection(n / conns + (c < n % conns ? 1 : 0), &completions[c], &shared)));
    std::uint64_t served = 0;
    for (auto& handle : handles) served += co_await std::move(handle);
    Out out;
    out.outcome = bench::Outcome{served, clock.ms()};
    shared.done.store(true);
    completer.join();
    co_await watcher;
    out.hops = shared.hops.load();
    out.live_max = std::max(shared.live_max.load(), weft::detail::armed_timer_entries());
    out.live_end = weft::detail::armed_timer_entries();
    co_return out;
}

double peak_rss_mb() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t n = args.get("n", 1'000'000);
    const std::uint64_t conns = std::max<std::uint64_t>(1, args.get("conns", 1'000));
    const Out out = bench::run(args, root(n, conns));
    return bench::Result("deadlines", args)
        .rate(static_cast<double>(n), out.outcome.ms)
        .count("hops", out.hops)
        .count("live_entries_max", out.live_max)
        .count("live_entries_end", out.live_end)
        .value("peak_rss_mb", peak_rss_mb(), 1)
        .count("n", n)
        .count("conns", conns)
        .finish(out.outcome.check, n);
}
