// The oneTBB arena behind compute(), created on first use.
//
// Calls are enqueued into the arena (fire and forget); no loop thread ever joins it, so
// none of its slots is reserved for one, and a global_control lets oneTBB start enough
// workers to fill all `threads` slots (its default is one worker fewer than the cores,
// leaving a slot for a calling thread that never comes here).
#pragma once

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/task_arena.h>

#include <memory>
#include <mutex>

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

private:
    unsigned threads_;
    std::once_flag started_;
    std::unique_ptr<tbb::global_control> control_;
    std::unique_ptr<tbb::task_arena> arena_;
};

}  // namespace weft::detail
