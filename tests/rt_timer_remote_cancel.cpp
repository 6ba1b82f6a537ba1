// A timeout scope left on another worker than the one whose wheel holds its entry: the
// entry is freed promptly by its owner, not left until its deadline (issue 16 item 14).
#include <catch2/catch.hpp>

#include <weft/detail/context.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <vector>

#include "support/counted.hpp"

using namespace std::chrono_literals;

namespace {

// One short request under a 30 s deadline; it yields a few times, so that idle workers
// steal it: the scope often ends on another worker than the one that armed it.
weft::Task<void> request(std::atomic<int>* hops) {
    const void* armed_on = weft::detail::tls_context.worker;
    {
        auto deadline = weft::timeout(30s);
        for (int i = 0; i < 4; ++i) co_await weft::yield_now();
        if (weft::detail::tls_context.worker != armed_on) hops->fetch_add(1);
    }
    co_return;
}

struct Result {
    std::size_t entries_during = 0;  // armed entries right after the requests, before any wait
    std::size_t entries_after = 0;
    int rounds = 0;
};

weft::Task<Result> requests(int count, std::atomic<int>* hops) {
    std::vector<weft::JoinHandle<void>> handles;
    handles.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(request(hops)));
    for (auto& handle : handles) co_await handle;
    Result out;
    out.entries_during = weft::detail::armed_timer_entries();
    // Owners free what others handed them at their next timer check (or when they park):
    // give them a bounded number of rounds, with no clock involved.
    while (weft::detail::armed_timer_entries() != 0 && out.rounds < 100'000) {
        ++out.rounds;
        co_await weft::yield_now();
    }
    out.entries_after = weft::detail::armed_timer_entries();
    co_return out;
}

}  // namespace

TEST_CASE("timeout scopes left on another worker free their timer entries promptly", "[timers][timeout]") {
    const unsigned workers = GENERATE(2u, 4u);
    CAPTURE(workers);
    std::atomic<int> hops{0};
    const int count = test::scaled(20'000, 4'000);
    Result out = weft::run(requests(count, &hops), {.workers = workers});
    REQUIRE(hops.load() > 0);  // (what this test is about)
    CAPTURE(hops.load(), out.entries_during, out.rounds);
    CHECK(out.entries_after == 0);
}
