// A deadline `delta` after `from`, saturating: a delta too long for the clock to count
// (milliseconds::max(), hours::max(), a thousand years) is the clock's last instant, a
// deadline that never comes, rather than a sum that overflows (undefined behaviour, and in
// practice a deadline in the past that fires at once). What asyncio spells timeout(None).
// A negative delta is `from` itself: already passed (asyncio: sleep(-1) returns at once, a
// negative timeout expires at the first await). A NaN delta is a UsageError.
//
//   const auto deadline = weft::detail::deadline_after(steady_clock::now(), options.shutdown_grace);
#pragma once

#include <chrono>
#include <cmath>
#include <type_traits>

#include <weft/error.hpp>

namespace weft::detail {

[[noreturn, gnu::cold, gnu::noinline]] inline void throw_nan_duration() {
    throw UsageError("a duration that is not a number (NaN) cannot be a deadline");
}

template <class Clock, class Duration, class Rep, class Period>
constexpr std::chrono::time_point<Clock, Duration> deadline_after(std::chrono::time_point<Clock, Duration> from,
                                                                  std::chrono::duration<Rep, Period> delta) {
    using TimePoint = std::chrono::time_point<Clock, Duration>;
    using Seconds = std::chrono::duration<long double>;
    if constexpr (std::is_floating_point_v<Rep>) {
        if (std::isnan(delta.count())) throw_nan_duration();
    }
    if (delta <= std::chrono::duration<Rep, Period>::zero()) return from;
    // Compared in floating point: converting `delta` to the clock's unit may overflow by
    // itself. Within a thousandth of the room left (months, for any clock) counts as never,
    // so that the rounding of long double cannot let an overflowing sum through.
    const long double room = Seconds(TimePoint::max() - from).count();
    if (Seconds(delta).count() >= room * 0.999L) return TimePoint::max();
    return from + std::chrono::ceil<Duration>(delta);
}

}  // namespace weft::detail
