// nqueens (runtime-benchmarks' nqueens, N = 14): nqueens(row, board) returns 1 at row == N;
// otherwise it spawns one task per column that fits the queens on rows 0..row-1, each
// getting its own copy of the board, awaits them all and sums. 27,358,553 tasks (root
// included), 365,596 solutions. Like the peers: one untimed warm-up run, then one timed run.
// Checked against reference.hpp's table; `reference=1` also runs the serial reference.
//
//   weft_bench_nqueens [n=14] [warmup=1] [reference=0] [threads=nproc]
#include <array>
#include <cstdint>
#include <cstdio>
#include <ranges>
#include <utility>

#include "common/bench.hpp"
#include "nqueens/reference.hpp"

namespace {

using bench::nqueens::Board;

// N is a compile-time constant, as in the peers' versions (libfork's takes N from the
// board's type), so the compiler can unroll the column loop; main() dispatches n to it.
template <std::size_t N>
weft::Task<std::uint64_t> nqueens(std::size_t row, Board board) {
    if (row == N) co_return 1;
    std::array<weft::JoinHandle<std::uint64_t>, N> children;
    std::size_t spawned = 0;
    // The columns as a filtered view, as the peers' versions write it: the compiler then
    // keeps the placement check apart from the spawn (callgrind, n=11: 13% fewer
    // instructions, 15% fewer mispredicted branches than testing inside the spawn loop).
    auto columns = std::views::iota(0, static_cast<int>(N)) |
                   std::views::filter([&board, row](int column) { return bench::nqueens::fits(board, row, column); });
    for (int column : columns) {
        board[row] = static_cast<char>(column);
        children[spawned++] = weft::spawn(nqueens<N>(row + 1, board));
    }
    std::uint64_t solutions = 0;
    for (std::size_t i = 0; i < spawned; ++i) solutions += co_await std::move(children[i]);
    co_return solutions;
}

template <std::size_t N>
weft::Task<bench::Outcome> timed(std::uint64_t warmups) {
    for (std::uint64_t i = 0; i < warmups; ++i) co_await nqueens<N>(0, Board{});
    bench::Stopwatch clock;
    std::uint64_t solutions = co_await nqueens<N>(0, Board{});
    co_return bench::Outcome{solutions, clock.ms()};
}

template <std::size_t... Ns>
weft::Task<bench::Outcome> root_for(std::size_t n, std::uint64_t warmups, std::index_sequence<Ns...>) {
    weft::Task<bench::Outcome> chosen;
    ((n == Ns + 1 ? (chosen = timed<Ns + 1>(warmups), 0) : 0), ...);
    return chosen;
}

weft::Task<bench::Outcome> root(std::size_t n, std::uint64_t warmups) {
    return root_for(n, warmups, std::make_index_sequence<bench::nqueens::kMaxN>{});
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t n = args.get("n", bench::nqueens::kMaxN);
    const std::uint64_t warmups = args.get("warmup", 1);
    if (n < 1 || n > bench::nqueens::kMaxN) {
        std::fprintf(stderr, "nqueens: n must be 1..%zu\n", bench::nqueens::kMaxN);
        return 2;
    }
    const bench::Outcome out = bench::run(args, root(n, warmups));

    bench::nqueens::Count expected = bench::nqueens::kKnown[n];
    if (args.get("reference", 0) != 0) {
        bench::nqueens::Count serial = bench::nqueens::serial(n);
        if (serial.solutions != expected.solutions || serial.nodes != expected.nodes) {
            std::fprintf(stderr, "nqueens: serial reference disagrees with the table at n=%llu\n",
                         static_cast<unsigned long long>(n));
            return 1;
        }
    }
    const double tasks = double(expected.nodes);
    return bench::Result("nqueens", args)
        .value("wall_ms", out.ms, 1)
        .value("us", out.ms * 1000.0, 0)
        .count("tasks", expected.nodes)
        .value("ns_per_task", args.threads() * out.ms * 1e6 / tasks, 2)
        .count("n", n)
        .count("warmup", warmups)
        .finish(out.check, expected.solutions);
}
