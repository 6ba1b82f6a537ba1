// Helpers for the I/O tests (tests/io_*.cpp).
//
//   test::raise_fd_limit();                   // soft RLIMIT_NOFILE up to the hard limit
//   auto bytes = test::pattern(7, 1 << 20);   // deterministic, different per seed
//   bool refused = co_await test::throws<weft::ConnectionRefused>(TcpStream::connect(a));
//   CHECK(refused);
//
// Keep co_await out of Catch2's macros: g++-12 mishandles a coroutine that suspends inside
// CHECK(...)'s expression (the test hangs), so await first, then check the value.
#pragma once

#include <sys/resource.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <weft/task.hpp>

namespace test {

// True if awaiting `awaitable` throws E; other exceptions propagate.
template <class E, class Awaitable>
weft::Task<bool> throws(Awaitable awaitable) {
    try {
        co_await std::move(awaitable);
    } catch (const E&) {
        co_return true;
    }
    co_return false;
}

// Returns the soft limit now in force.
inline std::size_t raise_fd_limit() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    return static_cast<std::size_t>(limit.rlim_cur);
}

// Bytes from a small LCG: a mismatch at any offset or any mix-up between streams shows.
inline std::string pattern(std::uint32_t seed, std::size_t size) {
    std::string bytes(size, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& c : bytes) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return bytes;
}

}  // namespace test
