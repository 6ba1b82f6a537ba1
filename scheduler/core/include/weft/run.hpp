// Entry points from plain threads (asyncio.run / loop.run_until_complete).
//
//   int main() {
//       return weft::run(async_main());               // builds a runtime, runs, joins
//   }
//   weft::Runtime rt;                                  // or keep a runtime around
//   auto v = weft::block_on(rt, compute());            // and block this thread on a task
//
// The task's exception is rethrown on the calling thread.
#pragma once

#include <condition_variable>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include <weft/detail/context.hpp>
#include <weft/error.hpp>
#include <weft/runtime.hpp>
#include <weft/task.hpp>

namespace weft {

namespace detail {

bool on_worker_of(const RuntimeCore& runtime) noexcept;
inline bool on_any_worker() noexcept { return tls_context.worker != nullptr; }
// The running task's runtime is shutting down (its tasks are being cancelled).
bool current_runtime_shutting_down() noexcept;
// weft::run's main task has ended: its runtime's shutdown begins here, on this worker, before
// any other task runs (the main thread then waits for it to finish).
void begin_current_runtime_shutdown() noexcept;

// Where a plain thread waits for a task's outcome. Shared with the root task, so
// whichever side finishes last frees it.
template <class T>
struct BlockOnState {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    std::exception_ptr exception;
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> value;

    void finish() {
        std::lock_guard lock(mutex);
        if (done) return;
        if (!exception && !value)
            exception = std::make_exception_ptr(RuntimeShutDown("the runtime shut down before the task finished"));
        done = true;
        done_cv.notify_one();
    }
};

// Held by the root task's frame: if the runtime destroys that frame unrun, the
// destructor still releases the blocked thread (with RuntimeShutDown).
template <class T>
class BlockOnCompletion {
public:
    explicit BlockOnCompletion(std::shared_ptr<BlockOnState<T>> state) noexcept : state_(std::move(state)) {}
    BlockOnCompletion(BlockOnCompletion&&) noexcept = default;
    BlockOnCompletion& operator=(BlockOnCompletion&&) = delete;
    ~BlockOnCompletion() {
        if (state_) state_->finish();
    }
    BlockOnState<T>* operator->() const noexcept { return state_.get(); }

private:
    std::shared_ptr<BlockOnState<T>> state_;
};

template <class T>
Task<void> block_on_root(Task<T> task, BlockOnCompletion<T> state, bool shut_down_after) {
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(task);
            state->value.emplace(true);
        } else {
            state->value.emplace(co_await std::move(task));
        }
    } catch (const CancelledError&) {
        // Cancelled by the runtime's shutdown: the blocked thread hears why.
        state->exception =
            current_runtime_shutting_down()
                ? std::make_exception_ptr(RuntimeShutDown("the runtime shut down before the task finished"))
                : std::current_exception();
    } catch (...) {
        state->exception = std::current_exception();
    }
    if (shut_down_after) begin_current_runtime_shutdown();
    state->finish();
}

template <class T>
T block_on_impl(Runtime& runtime, Task<T> task, bool shut_down_after) {
    auto state = std::make_shared<BlockOnState<T>>();
    runtime.spawn(block_on_root(std::move(task), BlockOnCompletion<T>(state), shut_down_after), "block_on").detach();
    {
        std::unique_lock lock(state->mutex);
        state->done_cv.wait(lock, [&] { return state->done; });
    }
    if (state->exception) std::rethrow_exception(state->exception);
    if constexpr (!std::is_void_v<T>) return std::move(*state->value);
}

}  // namespace detail

/// Runs `task` on `runtime` and blocks this (plain) thread until it finishes. UsageError on a
/// weft worker: on its own runtime's it would deadlock, on another's it would stall that
/// worker's loop (asyncio: "cannot run the event loop while another loop is running").
template <class T>
T block_on(Runtime& runtime, Task<T> task) {
    if (detail::on_worker_of(runtime.core()))
        throw UsageError("weft::block_on called on a worker of the same runtime: it would deadlock; co_await the task");
    if (detail::on_any_worker())
        throw UsageError("weft::block_on called inside a running weft task: it would block this worker; co_await "
                         "the task, or use run_coroutine_threadsafe");
    return detail::block_on_impl(runtime, std::move(task), false);
}

/// asyncio.run: builds a runtime, runs `task` to its end, then shuts the runtime down (the
/// tasks still alive are cancelled and given RuntimeOptions::shutdown_grace to unwind).
/// UsageError inside a running task (a second runtime would block this worker): co_await it.
template <class T>
T run(Task<T> task, RuntimeOptions options = {}) {
    if (detail::on_any_worker())
        throw UsageError("weft::run called inside a running weft task (as asyncio.run inside a running loop): "
                         "co_await the task, or spawn it");
    Runtime runtime(std::move(options));
    return detail::block_on_impl(runtime, std::move(task), true);
}

}  // namespace weft
