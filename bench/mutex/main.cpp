// mutex (shared/bench/SPEC.md): T tasks each lock a weft::Lock, increment a shared counter,
// unlock, K times. Serial reference: the counter ends at T*K.
//
//   weft_bench_mutex [t=1000] [k=1000] [threads=nproc]
#include <cstdint>
#include <vector>

#include "common/bench.hpp"

namespace {

struct Shared {
    weft::Lock lock;
    std::uint64_t counter = 0;  // guarded by lock
};

weft::Task<void> incrementer(Shared& shared, std::uint64_t k) {
    for (std::uint64_t i = 0; i < k; ++i) {
        auto held = co_await shared.lock.lock();
        ++shared.counter;
    }
}

weft::Task<bench::Outcome> root(std::uint64_t t, std::uint64_t k) {
    Shared shared;
    bench::Stopwatch clock;
    std::vector<weft::JoinHandle<void>> handles;
    handles.reserve(t);
    for (std::uint64_t i = 0; i < t; ++i) handles.push_back(weft::spawn(incrementer(shared, k)));
    for (auto& handle : handles) co_await handle;
    double ms = clock.ms();
    auto held = co_await shared.lock.lock();
    co_return bench::Outcome{shared.counter, ms};
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t t = args.get("t", 1000);
    const std::uint64_t k = args.get("k", 1000);
    const bench::Outcome out = bench::run(args, root(t, k));
    return bench::Result("mutex", args)
        .rate(double(t * k), out.ms)
        .count("t", t)
        .count("k", k)
        .finish(out.check, t * k);
}
