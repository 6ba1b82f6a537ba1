// Sizes for the big concurrency tests: the full size in optimised builds, a smaller one
// (still large enough to interleave threads) under the sanitizers, which run 5-20x slower.
//
//   const int count = test::scaled(20'000, 2'000);
//   const auto bytes = test::scaled<std::size_t>(100u << 20, 8u << 20);
#pragma once

namespace test {

template <class T>
constexpr T scaled([[maybe_unused]] T full, [[maybe_unused]] T sanitized) noexcept {
#ifdef WEFT_SANITIZER_BUILD
    return sanitized;
#else
    return full;
#endif
}

}  // namespace test
