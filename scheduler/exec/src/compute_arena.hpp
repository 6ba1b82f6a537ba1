// The oneTBB arena behind compute(), created on first use.
//
// Calls are enqueued into the arena (fire and forget); no loop thread ever joins it, so
// none of its slots is reserved for one, and a global_control lets oneTBB start enough
// workers to fill all `threads` slots (its default is one worker fewer than the cores,
// leaving a slot for a calling thread that never comes here).
#pragma once

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <cstdint>
#include <memory>
#include <mutex>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

class BridgeCall;

class ComputeArena {
public:
    explicit ComputeArena(unsigned threads);  // 0: one per CPU this process may use
    ~ComputeArena();
    ComputeArena(const ComputeArena&) = delete;
    ComputeArena& operator=(const ComputeArena&) = delete;

    void submit(BridgeCall* call);
    unsigned threads() const noexcept { return threads_; }

    // Metrics (any thread). Shared with the arena's tasks: an abandoned call may still run
    // after the runtime and this object are gone (executor_bridge.hpp, shutdown step 4).
    struct Counts {
        Atomic<std::uint64_t> submitted{0};
        Atomic<std::uint64_t> started{0};
        Atomic<std::uint64_t> finished{0};
    };
    const Counts& counts() const noexcept { return *counts_; }

private:
    unsigned threads_;
    std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
    std::once_flag started_;
    std::unique_ptr<tbb::global_control> control_;
    std::unique_ptr<tbb::task_arena> arena_;
};

}  // namespace weft::detail
