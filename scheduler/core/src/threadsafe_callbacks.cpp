#include "threadsafe_callbacks.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include <weft/error.hpp>
#include <weft/yield.hpp>

namespace weft::detail {

namespace {

void run_one(ThreadsafeCallback& callback) noexcept {
    try {
        callback.run();
    } catch (const std::exception& e) {
        spdlog::error("weft: a call_soon_threadsafe callback threw: {}", e.what());
    } catch (...) {
        spdlog::error("weft: a call_soon_threadsafe callback threw a non-std exception");
    }
}

}  // namespace

// Runs the callbacks queued when it looks, then yields (one turn of asyncio's loop) and looks
// again; ends when none is left. The shutdown's cancellation does not stop it: callbacks
// queued before the runtime stops still run during its grace period, as the tasks that
// call_soon_threadsafe spawned before did. Destroyed unfinished when the runtime stops, it
// clears `runner_` so that nothing waits on it.
Task<void> run_threadsafe_callbacks(std::shared_ptr<ThreadsafeCallbacks> callbacks) {
    struct Release {
        ThreadsafeCallbacks& callbacks;
        bool done = false;
        ~Release() {
            if (done) return;
            std::lock_guard lock(callbacks.mutex_);
            callbacks.runner_ = false;
            callbacks.queue_.clear();  // (the runtime has stopped: nothing will run them)
        }
    } release{*callbacks};
    for (;;) {
        std::deque<std::unique_ptr<ThreadsafeCallback>> batch;
        {
            std::lock_guard lock(callbacks->mutex_);
            if (callbacks->queue_.empty()) {
                callbacks->runner_ = false;
                release.done = true;
                co_return;
            }
            batch.swap(callbacks->queue_);
        }
        for (auto& callback : batch) run_one(*callback);
        try {
            co_await yield_now();
        } catch (const CancelledError&) {
            // The shutdown: drain on (see above).
        }
    }
}

void ThreadsafeCallbacks::push(Runtime& runtime, std::unique_ptr<ThreadsafeCallback> callback) {
    bool start_runner;
    {
        std::lock_guard lock(mutex_);
        queue_.push_back(std::move(callback));
        start_runner = !std::exchange(runner_, true);
    }
    if (!start_runner) return;
    try {
        runtime.spawn(run_threadsafe_callbacks(shared_from_this()), "call_soon_threadsafe").detach();
    } catch (...) {
        std::lock_guard lock(mutex_);
        runner_ = false;
        queue_.clear();
        throw;
    }
}

}  // namespace weft::detail
