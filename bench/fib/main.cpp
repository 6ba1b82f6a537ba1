// fib (shared/bench/SPEC.md): fork-join. fib(n) spawns fib(n-1), computes fib(n-2) inline
// (`co_await`, same task), then awaits the spawned handle; fib(n<2) = n with no spawn.
// n = 30 makes 1,346,268 spawns. Checked against reference.hpp.
//
//   weft_bench_fib [n=30] [threads=nproc]
#include <cstdint>

#include "common/bench.hpp"
#include "fib/reference.hpp"

namespace {

weft::Task<std::uint64_t> fib(std::uint64_t n) {
    if (n < 2) co_return n;
    auto first = weft::spawn(fib(n - 1));
    std::uint64_t second = co_await fib(n - 2);
    co_return co_await std::move(first) + second;
}

weft::Task<bench::Outcome> root(std::uint64_t n) {
    bench::Stopwatch clock;
    std::uint64_t value = co_await fib(n);
    co_return bench::Outcome{value, clock.ms()};
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t n = args.get("n", 30);
    const bench::Outcome out = bench::run(args, root(n));
    const double spawns = double(bench::fib::spawns(n));
    return bench::Result("fib", args)
        .value("wall_ms", out.ms, 1)
        .value("spawns_per_s", spawns / (out.ms / 1000.0), 0)
        .count("n", n)
        .finish(out.check, bench::fib::serial(n));
}
