// A tiny deterministic generator for the storm tests: the same seed gives the same storm.
//
//   std::uint64_t rng = 0x5EED + workers;
//   const int steps = static_cast<int>(test::splitmix64(rng) % 6);
#pragma once

#include <cstdint>

namespace test {

// splitmix64: advances `state` and returns the next value.
inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

}  // namespace test
