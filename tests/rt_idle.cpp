// An idle runtime sleeps: once its tasks are done its workers park in the kernel, so the
// process uses (next to) no CPU. The one sleep here is the measurement window, not a wait
// for another thread.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

#include <chrono>
#include <thread>
#include <vector>

namespace {

std::chrono::microseconds process_cpu_time() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto to_us = [](const timeval& tv) {
        return std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    };
    return to_us(usage.ru_utime) + to_us(usage.ru_stime);
}

// CPU the whole process burns while this thread sleeps for `window`.
std::chrono::microseconds cpu_during(std::chrono::milliseconds window) {
    auto before = process_cpu_time();
    std::this_thread::sleep_for(window);
    return process_cpu_time() - before;
}

weft::Task<int> one() { co_return 1; }

weft::Task<int> burst(int count) {
    std::vector<weft::JoinHandle<int>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(one()));
    int sum = 0;
    for (auto& handle : handles) sum += co_await handle;
    co_return sum;
}

}  // namespace

TEST_CASE("an idle runtime uses no CPU", "[runtime][idle]") {
    using namespace std::chrono_literals;
    weft::Runtime runtime({.workers = 2});
    REQUIRE(weft::block_on(runtime, one()) == 1);
    auto idle_after_one = cpu_during(200ms);
    CAPTURE(idle_after_one.count());
    REQUIRE(idle_after_one < 20ms);

    // And again after every worker has been busy (stealing, then parking one by one).
    REQUIRE(weft::block_on(runtime, burst(10'000)) == 10'000);
    auto idle_after_burst = cpu_during(200ms);
    CAPTURE(idle_after_burst.count());
    REQUIRE(idle_after_burst < 20ms);
}
