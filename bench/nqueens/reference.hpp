// Serial reference for nqueens: the same recursion as the task tree, without tasks.
// It counts solutions and nodes (= tasks: the root plus one per valid placement).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace bench::nqueens {

// The board: row r holds its queen in column board[r]. 14 as in runtime-benchmarks, whose
// tasks copy this array by value; smaller n use a prefix of it.
inline constexpr std::size_t kMaxN = 14;
using Board = std::array<char, kMaxN>;

// May a queen go on (row, column) given the queens on rows 0..row-1?
constexpr bool fits(const Board& board, std::size_t row, int column) {
    for (std::size_t r = 0; r < row; ++r) {
        const int q = board[r];
        const int distance = static_cast<int>(row - r);
        if (q == column || q == column - distance || q == column + distance) return false;
    }
    return true;
}

struct Count {
    std::uint64_t solutions = 0;
    std::uint64_t nodes = 0;
};

constexpr Count serial(std::size_t n, std::size_t row = 0, Board board = {}) {
    if (row == n) return {1, 1};
    Count total{0, 1};
    for (int column = 0; column < static_cast<int>(n); ++column) {
        if (!fits(board, row, column)) continue;
        board[row] = static_cast<char>(column);
        Count child = serial(n, row + 1, board);
        total.solutions += child.solutions;
        total.nodes += child.nodes;
    }
    return total;
}

// serial(n) for n = 1..14 (OEIS A000170 for the solutions). serial(14) takes ~3 s on one
// core, so the benchmark checks against this table and runs serial() only on request.
inline constexpr std::array<Count, kMaxN + 1> kKnown = {{
    {1, 1},  // n = 0: the empty board
    {1, 2},
    {0, 3},
    {0, 6},
    {2, 17},
    {10, 54},
    {4, 153},
    {40, 552},
    {92, 2'057},
    {352, 8'394},
    {724, 35'539},
    {2'680, 166'926},
    {14'200, 856'189},
    {73'712, 4'674'890},
    {365'596, 27'358'553},
}};

constexpr bool matches_table(std::size_t n) {
    Count c = serial(n);
    return c.solutions == kKnown[n].solutions && c.nodes == kKnown[n].nodes;
}
static_assert(matches_table(4) && matches_table(6) && matches_table(8));

}  // namespace bench::nqueens
