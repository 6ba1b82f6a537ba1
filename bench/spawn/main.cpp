// spawn (shared/bench/SPEC.md): the root task spawns N tasks, each returns its index; the root
// awaits every JoinHandle in spawn order and sums. Measures spawn + complete + join, one
// allocation per task. Serial reference: the closed form N(N-1)/2.
//
//   weft_bench_spawn [n=1000000] [threads=nproc]
#include <cstdint>
#include <vector>

#include "common/bench.hpp"

namespace {

weft::Task<std::uint64_t> index_task(std::uint64_t index) { co_return index; }

weft::Task<bench::Outcome> root(std::uint64_t n) {
    bench::Stopwatch clock;
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    handles.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) handles.push_back(weft::spawn(index_task(i)));
    std::uint64_t sum = 0;
    for (auto& handle : handles) sum += co_await std::move(handle);
    co_return bench::Outcome{sum, clock.ms()};
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t n = args.get("n", 1'000'000);
    const bench::Outcome out = bench::run(args, root(n));
    return bench::Result("spawn", args).rate(double(n), out.ms).count("n", n).finish(out.check, n * (n - 1) / 2);
}
