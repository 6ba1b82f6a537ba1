// Recycling allocator for coroutine frames.
//
// Each thread owns a pool of free blocks per size class. A block remembers its
// owning pool; freed on the owner it goes back on a local list (no atomics), freed
// on another thread it is pushed onto the owner's lock-free remote list, which the
// owner takes whole when its local list runs dry. So a spawn in steady state does no
// malloc, and frames may finish on any worker.
#pragma once

#include <cstddef>

namespace weft::detail {

void* allocate_frame(std::size_t size);
void free_frame(void* frame, std::size_t size) noexcept;

}  // namespace weft::detail
