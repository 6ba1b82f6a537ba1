// yield (shared/bench/SPEC.md): T tasks each call `co_await weft::yield_now()` Y times, then
// return how many times they yielded; the root spawns them all, awaits all and sums.
// Measures the re-queue round trip. Serial reference: the closed form T*Y.
//
//   weft_bench_yield [t=1000] [y=1000] [threads=nproc]
#include <cstdint>
#include <vector>

#include "common/bench.hpp"

namespace {

weft::Task<std::uint64_t> yielder(std::uint64_t yields) {
    std::uint64_t done = 0;
    for (std::uint64_t i = 0; i < yields; ++i) {
        co_await weft::yield_now();
        ++done;
    }
    co_return done;
}

weft::Task<bench::Outcome> root(std::uint64_t tasks, std::uint64_t yields) {
    bench::Stopwatch clock;
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    handles.reserve(tasks);
    for (std::uint64_t i = 0; i < tasks; ++i) handles.push_back(weft::spawn(yielder(yields)));
    std::uint64_t total = 0;
    for (auto& handle : handles) total += co_await std::move(handle);
    co_return bench::Outcome{total, clock.ms()};
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t t = args.get("t", 1'000);
    const std::uint64_t y = args.get("y", 1'000);
    const bench::Outcome out = bench::run(args, root(t, y));
    return bench::Result("yield", args)
        .rate(double(t * y), out.ms)
        .count("t", t)
        .count("y", y)
        .finish(out.check, t * y);
}
