// skynet (runtime-benchmarks' skynet): a ten-way tree of depth 8. A node spawns 9 of its
// children, awaits the 10th directly, then awaits the 9 and returns the sum; a leaf returns
// its number. 10^8 leaves numbered 0 .. 99,999,999, 111,111,111 tasks (the root node runs
// inline in the root task).
// Like the peers: one untimed warm-up run, then one timed run. Checked against reference.hpp.
//
//   weft_bench_skynet [depth=8] [warmup=1] [threads=nproc]
#include <array>
#include <cstdint>
#include <cstdio>

#include "common/bench.hpp"
#include "skynet/reference.hpp"

namespace {

weft::Task<std::uint64_t> skynet(std::uint64_t base, std::uint64_t leaves) {
    if (leaves == 1) co_return base;
    const std::uint64_t span = leaves / 10;
    std::array<weft::JoinHandle<std::uint64_t>, 9> children;
    for (std::uint64_t i = 0; i < 9; ++i) children[i] = weft::spawn(skynet(base + i * span, span));
    // The last child runs right here, as libfork's version does (lf::call): the other nine
    // are already there to be stolen.
    std::uint64_t sum = co_await skynet(base + 9 * span, span);
    for (auto& child : children) sum += co_await std::move(child);
    co_return sum;
}

weft::Task<bench::Outcome> root(std::uint64_t depth, std::uint64_t warmups) {
    const std::uint64_t leaves = bench::skynet::pow10(depth);
    for (std::uint64_t i = 0; i < warmups; ++i) co_await skynet(0, leaves);
    bench::Stopwatch clock;
    std::uint64_t sum = co_await skynet(0, leaves);
    co_return bench::Outcome{sum, clock.ms()};
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t depth = args.get("depth", 8);
    const std::uint64_t warmups = args.get("warmup", 1);
    if (depth > 9) {
        std::fprintf(stderr, "skynet: depth must be 0..9\n");
        return 2;
    }
    const bench::Outcome out = bench::run(args, root(depth, warmups));
    const std::uint64_t tasks = bench::skynet::tasks(depth);
    return bench::Result("skynet", args)
        .value("wall_ms", out.ms, 1)
        .value("us", out.ms * 1000.0, 0)
        .count("tasks", tasks)
        .value("ns_per_task", args.threads() * out.ms * 1e6 / double(tasks), 2)
        .count("depth", depth)
        .count("warmup", warmups)
        .finish(out.check, bench::skynet::expected(depth));
}
