// The FIFO behind Runtime::call_soon_threadsafe: callbacks from any thread, drained in order
// by one runner task at a time (asyncio's ready queue). The runner is spawned when the FIFO
// goes from idle to busy and ends when it finds it empty; `runner`, under the mutex, keeps it
// to one, so the callbacks never overlap and keep their order even when it is stolen.
#pragma once

#include <deque>
#include <memory>
#include <mutex>

#include <weft/runtime.hpp>

namespace weft::detail {

class ThreadsafeCallbacks : public std::enable_shared_from_this<ThreadsafeCallbacks> {
public:
    // Queues `callback`; spawns the runner on `runtime` if none is running. RuntimeShutDown
    // (nothing queued) if the runtime no longer runs tasks.
    void push(Runtime& runtime, std::unique_ptr<ThreadsafeCallback> callback);

private:
    friend Task<void> run_threadsafe_callbacks(std::shared_ptr<ThreadsafeCallbacks> callbacks);

    std::mutex mutex_;
    std::deque<std::unique_ptr<ThreadsafeCallback>> queue_;
    bool runner_ = false;  // a runner task exists (it clears this when it finds the FIFO empty)
};

}  // namespace weft::detail
