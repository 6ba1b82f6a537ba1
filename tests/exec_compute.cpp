// co_await weft::compute(): oneTBB algorithms inside run on the runtime's arena and return the
// right answer; exceptions come back unchanged; cancelling the awaiter cancels the call's
// task_group_context, so a parallel_for inside stops early.
#include <catch2/catch.hpp>

#include <weft/compute.hpp>
#include <weft/weft.hpp>

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/combinable.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <atomic>
#include <cstdint>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>

#include "support/bridge.hpp"
#include "support/scaled.hpp"

// oneTBB's scheduler (libtbb.so) is not built with ThreadSanitizer, so the hand-off of every
// TBB task between threads is invisible to it, and it reports each task object as a race.
// Suppress reports whose stacks pass through oneTBB; weft's own side of compute() is the
// same BridgeCall code that the offload tests check without suppression.
// moodycamel::ConcurrentQueue (the injection queue) reuses a slot after consumers mark it
// empty with a release-only fetch_add; TSan cannot see that ordering and reports the slot
// reuse (cameron314/concurrentqueue issues 49 and 196, judged benign by its maintainer).
// Its block free list has the same pattern (a block recycled by one producer is read by
// another through a relaxed ref-count), reported with std::atomic's load on top, so
// reports passing through ConcurrentQueue's FreeList are suppressed too; otherwise only
// reports whose top frame is inside the queue are.
// libstdc++ (not built with ThreadSanitizer either) counts references to an exception
// object with atomics TSan does not see: when an offloaded call's exception is caught and
// read on a worker and the pool thread then drops the last exception_ptr, its free is
// reported against the read (seen once in io_resolve's failing lookup), so reports passing
// through exception_ptr's release are suppressed.
// OpenSSL (Debian's, not built with ThreadSanitizer) caches a certificate's extensions on
// first use under the X509's lock and publishes them with an atomic flag that later readers
// check without the lock (double-checked locking in ossl_x509v3_cache_extensions): TSan sees
// the lock but not the atomics, so when two handshakes on different workers verify against
// the same CA, the reader's ASN1_STRING_cmp is reported against the writer's ASN1_STRING_set
// (the TLS tests; OpenSSL issue 25202). Reports through ASN1_STRING_cmp are suppressed.
// (The suppressions are process-wide: this is the one definition in weft_tests.)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
extern "C" const char* __tsan_default_suppressions() {
    return "race:tbb::detail\nrace:libtbb.so\nrace_top:moodycamel::ConcurrentQueue\n"
           "race:moodycamel::ConcurrentQueue*FreeList\nrace:std::__exception_ptr::exception_ptr::_M_release\n"
           "race:ASN1_STRING_cmp\n";
}
#endif
#endif

namespace {

struct SumOutcome {
    std::uint64_t sum = 0;
    int arena_concurrency = 0;
};

weft::Task<SumOutcome> parallel_sum(std::uint64_t n) {
    co_return co_await weft::compute([n] {
        tbb::combinable<std::uint64_t> partial([] { return std::uint64_t{0}; });
        tbb::parallel_for(tbb::blocked_range<std::uint64_t>(0, n), [&](const tbb::blocked_range<std::uint64_t>& r) {
            std::uint64_t local = 0;
            for (std::uint64_t i = r.begin(); i != r.end(); ++i) local += i;
            partial.local() += local;
        });
        return SumOutcome{partial.combine([](std::uint64_t a, std::uint64_t b) { return a + b; }),
                          tbb::this_task_arena::max_concurrency()};
    });
}

weft::Task<int> compute_throws() {
    co_return co_await weft::compute([]() -> int {
        tbb::parallel_for(0, 100, [](int i) {
            if (i == 37) throw std::out_of_range("index 37");
        });
        return 0;
    });
}

struct Gates {
    std::latch started{1};
    std::latch cancelled{1};
    std::latch finished{1};
    std::atomic<std::uint64_t> iterations{0};
};

weft::Task<std::uint64_t> long_parallel_for(std::shared_ptr<Gates> gates, std::uint64_t n) {
    co_return co_await weft::compute([gates, n] {
        tbb::parallel_for(tbb::blocked_range<std::uint64_t>(0, n, 1024),
                          [&](const tbb::blocked_range<std::uint64_t>& r) {
                              if (gates->iterations.fetch_add(r.size()) == 0) gates->started.count_down();
                              gates->cancelled.wait();  // every chunk waits until the awaiter has been cancelled
                          });
        gates->finished.count_down();
        return gates->iterations.load();
    });
}

struct CancelOutcome {
    bool cancelled = false;
    std::uint64_t iterations = 0;
};

weft::Task<CancelOutcome> cancel_parallel_for(std::uint64_t n) {
    auto gates = std::make_shared<Gates>();
    CancelOutcome out;
    auto handle = weft::spawn(long_parallel_for(gates, n));
    co_await weft::offload([gates] { gates->started.wait(); });  // a chunk runs (waited off the loop)
    handle.cancel();
    try {
        co_await handle;
    } catch (const weft::CancelledError&) {
        out.cancelled = true;
    }
    gates->cancelled.count_down();
    co_await weft::offload([gates] { gates->finished.wait(); });
    out.iterations = gates->iterations.load();
    co_return out;
}

}  // namespace

TEST_CASE("compute runs tbb::parallel_for on the runtime's arena and returns the right sum", "[exec][compute]") {
    const std::uint64_t n = test::scaled<std::uint64_t>(10'000'000, 200'000);
    SumOutcome out = weft::run(parallel_sum(n), weft::RuntimeOptions{.workers = 2, .compute_threads = 3});
    REQUIRE(out.sum == n * (n - 1) / 2);
    REQUIRE(out.arena_concurrency == 3);
}

TEST_CASE("exceptions from compute callables reach the awaiter unchanged", "[exec][compute]") {
    try {
        weft::run(compute_throws());
        FAIL("no exception");
    } catch (const std::out_of_range& e) {
        REQUIRE(std::string(e.what()) == "index 37");
    }
}

TEST_CASE("cancelling a compute awaiter cancels the parallel_for inside it", "[exec][compute][cancel]") {
    const std::uint64_t n = 1'000'000'000;  // far more than can run: chunks wait for the cancel
    CancelOutcome out = weft::run(cancel_parallel_for(n), weft::RuntimeOptions{.workers = 2, .compute_threads = 2});
    REQUIRE(out.cancelled);
    REQUIRE(out.iterations > 0);
    REQUIRE(out.iterations < n);
}
