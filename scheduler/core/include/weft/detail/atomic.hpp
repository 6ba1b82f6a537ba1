// All atomics used by weft come through this header, so that a checking build
// (randomised yields, a model checker) can swap them in one place.
#pragma once

#include <atomic>

namespace weft::detail {

template <class T>
using Atomic = std::atomic<T>;

using std::memory_order_acq_rel;
using std::memory_order_acquire;
using std::memory_order_relaxed;
using std::memory_order_release;
using std::memory_order_seq_cst;

inline void fence_seq_cst() noexcept { std::atomic_thread_fence(std::memory_order_seq_cst); }

// One cache line: keeps independently written atomics from sharing a line.
inline constexpr std::size_t kCacheLine = 64;

}  // namespace weft::detail
