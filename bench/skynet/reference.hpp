// Serial reference for skynet: the same ten-way tree without tasks, and its closed form.
#pragma once

#include <cstdint>

namespace bench::skynet {

constexpr std::uint64_t pow10(std::uint64_t depth) {
    std::uint64_t leaves = 1;
    for (std::uint64_t i = 0; i < depth; ++i) leaves *= 10;
    return leaves;
}

// The node numbered `base` with `leaves` leaves under it: a leaf returns its number.
constexpr std::uint64_t serial(std::uint64_t base, std::uint64_t leaves) {
    if (leaves == 1) return base;
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < 10; ++i) sum += serial(base + i * (leaves / 10), leaves / 10);
    return sum;
}

// Leaves are numbered 0 .. 10^depth - 1, so the tree sums to L(L-1)/2.
constexpr std::uint64_t expected(std::uint64_t depth) {
    std::uint64_t leaves = pow10(depth);
    return leaves * (leaves - 1) / 2;
}

// Every node is a task: (10^(depth+1) - 1) / 9 of them, the root included.
constexpr std::uint64_t tasks(std::uint64_t depth) { return (pow10(depth + 1) - 1) / 9; }

static_assert(serial(0, pow10(4)) == expected(4));
static_assert(expected(8) == 4'999'999'950'000'000 && tasks(8) == 111'111'111);

}  // namespace bench::skynet
