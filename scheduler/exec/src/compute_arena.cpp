#include "compute_arena.hpp"

#include <algorithm>

#include <weft/detail/bridge_call.hpp>

#include "cpu_affinity.hpp"

namespace weft::detail {

ComputeArena::ComputeArena(unsigned threads) : threads_(threads ? threads : usable_cpus()) {}

ComputeArena::~ComputeArena() = default;

void ComputeArena::submit(BridgeCall* call) {
    std::call_once(started_, [this] {
        // The process-wide worker limit counts a calling thread; ours never joins (+1).
        std::size_t wanted = std::max<std::size_t>(
            threads_ + 1, tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
        control_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, wanted);
        arena_ = std::make_unique<tbb::task_arena>(static_cast<int>(threads_), /*reserved_for_masters=*/0);
        arena_->initialize();
    });
    counts_->submitted.fetch_add(1, memory_order_relaxed);
    arena_->enqueue([call, counts = counts_] {
        counts->started.fetch_add(1, memory_order_relaxed);
        call->execute();
        counts->finished.fetch_add(1, memory_order_relaxed);
    });
}

}  // namespace weft::detail
