// Which CPUs a thread may run on (the default worker count), and pinning a worker to one
// of them (RuntimeOptions::pin_workers).
#pragma once

#include <span>
#include <vector>

namespace weft::detail {

// The CPUs the calling thread may run on, ascending; empty if the kernel will not say.
std::vector<int> allowed_cpus();

// How many: the default worker and compute-thread count (at least 1).
unsigned usable_cpus();

// Restricts the calling thread to `cpus`. False if the kernel refused (errno says why).
bool restrict_this_thread(std::span<const int> cpus) noexcept;
inline bool pin_this_thread(int cpu) noexcept { return restrict_this_thread(std::span<const int>(&cpu, 1)); }

}  // namespace weft::detail
