// Which CPUs a thread may run on, and pinning a worker to one of them
// (RuntimeOptions::pin_workers).
#pragma once

#include <vector>

namespace weft::detail {

// The CPUs the calling thread may run on, ascending; empty if the kernel will not say.
std::vector<int> allowed_cpus();

// Restricts the calling thread to `cpu`. False if the kernel refused (errno says why).
bool pin_this_thread(int cpu) noexcept;

}  // namespace weft::detail
