// The paused clock and instants on it.
//
//   weft::run(main_task(), test::paused_clock());
//   const auto start = weft::now();
//   co_await weft::sleep(300ms);
//   CHECK(test::ms_since(start) == 300);  // exact: time only moves when the worker is idle
//
// paused_clock(): one worker and virtual time (RuntimeOptions::virtual_time): whenever the
// worker is idle the clock jumps straight to the next timer, so instants are exact and an
// hour-long sleep costs nothing.
#pragma once

#include <weft/weft.hpp>

#include <chrono>
#include <cstdint>

namespace test {

inline weft::RuntimeOptions paused_clock() { return {.workers = 1, .virtual_time = true}; }

// Whole milliseconds from `start` to weft::now() (on the paused clock: exact).
inline std::int64_t ms_since(weft::Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(weft::now() - start).count();
}

}  // namespace test
