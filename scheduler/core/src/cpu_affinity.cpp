#include "cpu_affinity.hpp"

#include <pthread.h>
#include <sched.h>

#include <thread>

namespace weft::detail {

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (::sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    return cpus;
}

unsigned usable_cpus() {
    if (std::size_t count = allowed_cpus().size(); count > 0) return static_cast<unsigned>(count);
    unsigned hw = std::thread::hardware_concurrency();
    return hw ? hw : 1;
}

bool restrict_this_thread(std::span<const int> cpus) noexcept {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int cpu : cpus) {
        if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
        CPU_SET(cpu, &set);
    }
    return ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) == 0;
}

}  // namespace weft::detail
