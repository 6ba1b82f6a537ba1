// RuntimeOptions::pin_workers: worker i runs on the i-th CPU the process may use, wrapping
// round; without it the workers keep the process's CPUs. Read from /proc, as any admin would
// (the Runtime constructor returns once every worker runs, so they have pinned themselves).
#include <catch2/catch.hpp>

#include <weft/compute.hpp>
#include <weft/offload.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/task.hpp>

#include <sched.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

namespace {

// The CPUs the calling thread may use.
std::set<int> own_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
    std::set<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.insert(cpu);
    }
    return cpus;
}

// "0-2,5" -> {0, 1, 2, 5}
std::set<int> parse_cpu_list(const std::string& list) {
    std::set<int> cpus;
    std::stringstream in(list);
    std::string range;
    while (std::getline(in, range, ',')) {
        auto dash = range.find('-');
        int first = std::stoi(range.substr(0, dash));
        int last = dash == std::string::npos ? first : std::stoi(range.substr(dash + 1));
        for (int cpu = first; cpu <= last; ++cpu) cpus.insert(cpu);
    }
    return cpus;
}

// Each thread of this process named "<prefix><index>": its allowed CPUs, by index.
std::map<int, std::set<int>> threads_named(const std::string& prefix) {
    std::map<int, std::set<int>> found;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
        std::ifstream comm(entry.path() / "comm");
        std::string name;
        std::getline(comm, name);
        if (name.rfind(prefix, 0) != 0) continue;
        std::ifstream status(entry.path() / "status");
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("Cpus_allowed_list:", 0) == 0) {
                found[std::stoi(name.substr(prefix.size()))] = parse_cpu_list(line.substr(line.find(':') + 1));
            }
        }
    }
    return found;
}

// The CPUs an offloaded call and a compute() call may run on, asked from a pinned worker
// (threads it starts would otherwise inherit its one CPU).
struct BridgeCpus {
    std::set<int> offloaded;
    std::set<int> computed;
};

weft::Task<BridgeCpus> bridge_cpus() {
    BridgeCpus cpus;
    cpus.offloaded = co_await weft::offload([] { return own_cpus(); });
    cpus.computed = co_await weft::compute([] { return own_cpus(); });
    co_return cpus;
}

}  // namespace

TEST_CASE("the blocking pool and the compute arena of a pinned runtime use every CPU", "[runtime][pin]") {
    const std::set<int> allowed = own_cpus();
    BridgeCpus cpus = weft::run(bridge_cpus(), {.workers = 2, .pin_workers = true});
    CHECK(cpus.offloaded == allowed);
    CHECK(cpus.computed == allowed);
}

TEST_CASE("pinned workers each run on one CPU, in the order of the process's CPUs", "[runtime][pin]") {
    const std::set<int> allowed = own_cpus();
    const std::vector<int> order(allowed.begin(), allowed.end());
    // One more worker than CPUs: the last wraps round to the first CPU.
    const unsigned workers = static_cast<unsigned>(order.size()) + 1;
    weft::Runtime runtime({.workers = workers, .name = "pintest", .pin_workers = true});

    const auto pinned = threads_named("pintest-");
    REQUIRE(pinned.size() == workers);
    for (unsigned i = 0; i < workers; ++i) {
        INFO("worker " << i);
        REQUIRE(pinned.count(static_cast<int>(i)) == 1);
        CHECK(pinned.at(static_cast<int>(i)) == std::set<int>{order[i % order.size()]});
    }
    CHECK(own_cpus() == allowed);  // the caller's thread is left as it was
}

TEST_CASE("unpinned workers may run on every CPU the process may use", "[runtime][pin]") {
    const std::set<int> allowed = own_cpus();
    weft::Runtime runtime({.workers = 2, .name = "freetest"});

    const auto workers = threads_named("freetest-");
    REQUIRE(workers.size() == 2);
    for (const auto& [index, cpus] : workers) {
        INFO("worker " << index);
        CHECK(cpus == allowed);
    }
}
