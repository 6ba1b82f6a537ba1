// Semaphore is a permit core counting its permits (detail/permits.hpp); only the bound is its own.
#include <weft/semaphore.hpp>

#include <string>

namespace weft {

Semaphore::Semaphore(std::size_t value, std::size_t bound)
    : Permits(value), bound_(bound < kMaxFree ? bound : kMaxFree) {
    if (value > kMaxFree) throw UsageError("weft::Semaphore: initial value too large");
}

void Semaphore::release(std::size_t count) {
    // All or nothing: the bound is checked for the whole count before any permit is added or
    // granted (Permits::release), so a release that throws changed nothing.
    if (count == 0 || (count <= bound_ && Permits::release(count, bound_))) return;
    if (bound_ == kMaxFree) throw UsageError("weft::Semaphore released too many times (the count would overflow)");
    throw UsageError("weft::BoundedSemaphore released too many times (above its initial value " +
                     std::to_string(bound_) + ")");
}

}  // namespace weft
