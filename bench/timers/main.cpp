// timers (shared/bench/SPEC.md): the root spawns N tasks that each sleep D and return 1, then
// awaits every JoinHandle and sums. Measures arming, holding and firing a million timers:
// overhead_ms = wall_ms - D is what the runtime adds to the one sleep everybody waits out;
// peak_rss_mb (getrusage) is what a million sleeping tasks cost. Serial reference: N.
//
//   weft_bench_timers [n=1000000] [d_ms=100] [threads=nproc]
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <vector>

#include <weft/sleep.hpp>

#include "common/bench.hpp"

namespace {

weft::Task<std::uint64_t> sleeper(std::chrono::milliseconds delay) {
    co_await weft::sleep(delay);
    co_return 1;
}

weft::Task<bench::Outcome> root(std::uint64_t n, std::chrono::milliseconds delay) {
    bench::Stopwatch clock;
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    handles.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) handles.push_back(weft::spawn(sleeper(delay)));
    std::uint64_t sum = 0;
    for (auto& handle : handles) sum += co_await std::move(handle);
    co_return bench::Outcome{sum, clock.ms()};
}

double peak_rss_mb() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double current_rss_mb() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    return static_cast<double>(resident) * 4096.0 / (1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t n = args.get("n", 1'000'000);
    const std::uint64_t d_ms = args.get("d_ms", 100);
    const double rss_before = current_rss_mb();
    const bench::Outcome out = bench::run(args, root(n, std::chrono::milliseconds(d_ms)));
    const double peak = peak_rss_mb();
    // stderr: what one sleeping task costs (its frame, the timer entry, the JoinHandle slot).
    std::fprintf(stderr, "timers: %.0f bytes per sleeping task (peak RSS - RSS at start) / n\n",
                 (peak - rss_before) * 1024.0 * 1024.0 / static_cast<double>(n));
    return bench::Result("timers", args)
        .value("wall_ms", out.ms, 1)
        .value("overhead_ms", out.ms - static_cast<double>(d_ms), 1)
        .value("peak_rss_mb", peak, 1)
        .count("n", n)
        .count("d_ms", d_ms)
        .finish(out.check, n);
}
