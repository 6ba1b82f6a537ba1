// weft::call_soon (call_soon.hpp): a FIFO of callbacks per worker thread, drained by one runner
// task at a time. The runner is spawned when the FIFO goes from idle to busy and ends when it
// finds it empty; the `runner` flag, under the FIFO's mutex, makes sure there is at most one
// (so the order holds even when the runner is stolen by another worker).
#include <weft/call_soon.hpp>

#include <spdlog/spdlog.h>

#include <deque>
#include <exception>
#include <mutex>
#include <utility>

#include <weft/error.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

namespace weft {

namespace detail {

namespace {

struct SoonQueue {
    std::mutex mutex;
    std::deque<std::shared_ptr<SoonCall>> calls;
    bool runner = false;  // a runner task exists (it clears this when it finds the FIFO empty)
};

thread_local std::shared_ptr<SoonQueue> tls_soon_queue;

void run_one(SoonCall& call) noexcept {
    unsigned char expected = SoonCall::kPending;
    if (!call.state.compare_exchange_strong(expected, SoonCall::kRunning, memory_order_acq_rel)) return;  // cancelled
    try {
        call.fn();
    } catch (const std::exception& e) {
        spdlog::error("weft: a call_soon callback threw: {}", e.what());
    } catch (...) {
        spdlog::error("weft: a call_soon callback threw a non-std exception");
    }
    call.fn = nullptr;
    call.state.store(SoonCall::kDone, memory_order_release);
}

// Runs the callbacks queued when it looks, then yields (as one turn of asyncio's loop) and
// looks again; ends when none is left.
Task<void> run_soon_queue(std::shared_ptr<SoonQueue> queue) {
    struct Release {  // also when cancelled (shutdown): a later call_soon starts a new runner
        SoonQueue& queue;
        bool done = false;
        ~Release() {
            if (done) return;
            std::lock_guard lock(queue.mutex);
            queue.runner = false;
        }
    } release{*queue};
    for (;;) {
        std::deque<std::shared_ptr<SoonCall>> batch;
        {
            std::lock_guard lock(queue->mutex);
            if (queue->calls.empty()) {
                queue->runner = false;
                release.done = true;
                co_return;
            }
            batch.swap(queue->calls);
        }
        for (auto& call : batch) run_one(*call);
        co_await yield_now();
    }
}

}  // namespace

}  // namespace detail

CallHandle call_soon(std::function<void()> fn) {
    detail::current_task_or_throw("weft::call_soon (use Runtime::call_soon_threadsafe from other threads)");
    if (!fn) throw UsageError("weft::call_soon: the callback is empty");
    auto call = std::make_shared<detail::SoonCall>();
    call->fn = std::move(fn);
    if (!detail::tls_soon_queue) detail::tls_soon_queue = std::make_shared<detail::SoonQueue>();
    std::shared_ptr<detail::SoonQueue> queue = detail::tls_soon_queue;
    bool start_runner;
    {
        std::lock_guard lock(queue->mutex);
        queue->calls.push_back(call);
        start_runner = !std::exchange(queue->runner, true);
    }
    if (start_runner) {
        try {
            detail::spawn_last(detail::run_soon_queue(queue), "call_soon").detach();
        } catch (...) {
            std::lock_guard lock(queue->mutex);
            queue->runner = false;
            queue->calls.clear();
            throw;
        }
    }
    return CallHandle(std::move(call));
}

}  // namespace weft
