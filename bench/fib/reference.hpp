// Serial reference for fib: the value, and how many spawns the fork-join tree makes.
#pragma once

#include <cstdint>

namespace bench::fib {

constexpr std::uint64_t serial(std::uint64_t n) {
    std::uint64_t a = 0, b = 1;
    for (std::uint64_t i = 0; i < n; ++i) {
        std::uint64_t next = a + b;
        a = b;
        b = next;
    }
    return a;
}

// Every node with n >= 2 spawns exactly one child: fib(n+1) - 1 spawns in all.
constexpr std::uint64_t spawns(std::uint64_t n) { return n < 2 ? 0 : serial(n + 1) - 1; }

static_assert(serial(30) == 832'040 && spawns(30) == 1'346'268);

}  // namespace bench::fib
