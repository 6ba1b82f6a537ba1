// pingpong (shared/bench/SPEC.md): two tasks pass an integer back and forth over two
// weft::Queue(maxsize=1), each side incrementing it, R round trips. Measures the cost of a
// hand-off to a waiting getter plus a suspend and a resume on each side. Serial reference:
// every round trip adds 2, so the final value is 2R.
//
//   weft_bench_pingpong [r=1000000] [threads=nproc]
#include <cstdint>

#include "common/bench.hpp"

namespace {

weft::Task<void> ponger(weft::Queue<std::uint64_t>& ping, weft::Queue<std::uint64_t>& pong, std::uint64_t r) {
    for (std::uint64_t i = 0; i < r; ++i) {
        std::uint64_t v = co_await ping.get();
        co_await pong.put(v + 1);
    }
}

weft::Task<std::uint64_t> pinger(weft::Queue<std::uint64_t>& ping, weft::Queue<std::uint64_t>& pong, std::uint64_t r) {
    std::uint64_t v = 0;
    for (std::uint64_t i = 0; i < r; ++i) {
        co_await ping.put(v);
        v = co_await pong.get() + 1;
    }
    co_return v;
}

weft::Task<bench::Outcome> root(std::uint64_t r) {
    weft::Queue<std::uint64_t> ping(1);
    weft::Queue<std::uint64_t> pong(1);
    bench::Stopwatch clock;
    auto pong_task = weft::spawn(ponger(ping, pong, r));
    auto ping_task = weft::spawn(pinger(ping, pong, r));
    std::uint64_t v = co_await ping_task;
    co_await pong_task;
    co_return bench::Outcome{v, clock.ms()};
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t r = args.get("r", 1'000'000);
    const bench::Outcome out = bench::run(args, root(r));
    return bench::Result("pingpong", args)
        .value("ns_per_rt", out.ms * 1e6 / double(r ? r : 1), 1)
        .value("wall_ms", out.ms, 1)
        .count("r", r)
        .finish(out.check, 2 * r);
}
