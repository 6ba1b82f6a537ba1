// queue (shared/bench/SPEC.md): a weft::Queue(maxsize=1024); P producers each put M/P
// integers 1, 2, ...; C consumers get until the queue is shut down and drained (the last
// producer to finish calls shutdown(): no sentinels) and sum. Serial reference: the sum of
// 1..count(j) over the producers, where the counts add up to M.
//
//   weft_bench_queue [m=10000000] [p=4] [c=4] [cap=1024] [threads=nproc]
#include <atomic>
#include <cstdint>
#include <vector>

#include "common/bench.hpp"

namespace {

struct Shared {
    weft::Queue<std::uint64_t> queue;
    std::atomic<std::uint64_t> producers_left;
    Shared(std::uint64_t cap, std::uint64_t producers) : queue(cap), producers_left(producers) {}
};

weft::Task<void> producer(Shared& shared, std::uint64_t count) {
    for (std::uint64_t i = 1; i <= count; ++i) co_await shared.queue.put(i);
    if (shared.producers_left.fetch_sub(1) == 1) shared.queue.shutdown();
}

struct Received {
    std::uint64_t sum = 0;
    std::uint64_t count = 0;
};

weft::Task<Received> consumer(Shared& shared) {
    Received got;
    try {
        for (;;) {
            got.sum += co_await shared.queue.get();
            ++got.count;
        }
    } catch (const weft::QueueShutDown&) {
    }
    co_return got;
}

std::uint64_t count_of(std::uint64_t j, std::uint64_t m, std::uint64_t p) { return m / p + (j < m % p ? 1 : 0); }

weft::Task<bench::Outcome> root(std::uint64_t m, std::uint64_t p, std::uint64_t c, std::uint64_t cap) {
    Shared shared(cap, p);
    bench::Stopwatch clock;
    std::vector<weft::JoinHandle<Received>> consumers;
    for (std::uint64_t i = 0; i < c; ++i) consumers.push_back(weft::spawn(consumer(shared)));
    std::vector<weft::JoinHandle<void>> producers;
    for (std::uint64_t j = 0; j < p; ++j) producers.push_back(weft::spawn(producer(shared, count_of(j, m, p))));
    for (auto& h : producers) co_await h;
    Received total;
    for (auto& h : consumers) {
        Received got = co_await h;
        total.sum += got.sum;
        total.count += got.count;
    }
    double ms = clock.ms();
    if (total.count != m)
        std::fprintf(stderr, "queue: received %llu items, expected %llu\n",
                     static_cast<unsigned long long>(total.count), static_cast<unsigned long long>(m));
    co_return bench::Outcome{total.count == m ? total.sum : 0, ms};
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t m = args.get("m", 10'000'000);
    const std::uint64_t p = args.get("p", 4);
    const std::uint64_t c = args.get("c", 4);
    const std::uint64_t cap = args.get("cap", 1024);
    if (p == 0 || c == 0) {
        std::fprintf(stderr, "queue: p and c must be > 0\n");
        return 2;
    }
    std::uint64_t expected = 0;
    for (std::uint64_t j = 0; j < p; ++j) expected += count_of(j, m, p) * (count_of(j, m, p) + 1) / 2;
    const bench::Outcome out = bench::run(args, root(m, p, c, cap));
    return bench::Result("queue", args)
        .rate(double(m), out.ms)
        .count("p", p)
        .count("c", c)
        .count("m", m)
        .count("cap", cap)
        .finish(out.check, expected);
}
