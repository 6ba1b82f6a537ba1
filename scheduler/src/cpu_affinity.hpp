// Which CPUs a thread may run on, and pinning a worker to one of them
// (RuntimeOptions::pin_workers).
#pragma once

#include <vector>

namespace weft::detail {

// The CPUs the calling thread may run on, ascending; empty if the kernel will not say.
std::vector<int> allowed_cpus();

// Restricts the calling thread to `cpus`. False if the kernel refused (errno says why).
bool restrict_this_thread(const std::vector<int>& cpus) noexcept;
inline bool pin_this_thread(int cpu) noexcept { return restrict_this_thread({cpu}); }

}  // namespace weft::detail
