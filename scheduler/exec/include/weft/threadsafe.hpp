// Talking to a runtime from plain threads (asyncio's run_coroutine_threadsafe).
//
//   weft::Runtime rt;
//   std::future<int> f = weft::run_coroutine_threadsafe(rt, fetch_count());  // any thread
//   int n = f.get();                                 // blocks this (plain) thread only
//   rt.call_soon_threadsafe([] { log("on a loop"); });  // runtime.hpp: fire and forget
//   rt.spawn(task());                                // runtime.hpp: a JoinHandle, any thread
//
// The task runs on the runtime's loops; the future gets its value or its exception. If the
// runtime shuts down first, the future holds RuntimeShutDown. Never call get() on one of the
// runtime's own workers: it blocks the loop that would finish the task (co_await instead).
#pragma once

#include <exception>
#include <future>
#include <type_traits>
#include <utility>

#include <weft/error.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/task.hpp>

namespace weft {

namespace detail {

// Held by the root task's frame: if the runtime destroys that frame unrun, the future
// still gets an answer (RuntimeShutDown rather than std::future_error's broken_promise).
template <class T>
class FuturePromise {
public:
    FuturePromise() = default;
    FuturePromise(FuturePromise&& other) noexcept
        : promise_(std::move(other.promise_)), settled_(std::exchange(other.settled_, true)) {}
    FuturePromise& operator=(FuturePromise&&) = delete;
    ~FuturePromise() {
        if (!settled_)
            promise_.set_exception(
                std::make_exception_ptr(RuntimeShutDown("the runtime shut down before the task finished")));
    }

    std::future<T> get_future() { return promise_.get_future(); }
    template <class... V>
    void set_value(V&&... value) {
        settled_ = true;
        promise_.set_value(std::forward<V>(value)...);
    }
    void set_exception(std::exception_ptr error) {
        settled_ = true;
        promise_.set_exception(std::move(error));
    }

private:
    std::promise<T> promise_;
    bool settled_ = false;
};

template <class T>
Task<void> future_root(Task<T> task, FuturePromise<T> promise) {
    std::exception_ptr error;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(task);
            promise.set_value();
        } else {
            promise.set_value(co_await std::move(task));
        }
        co_return;
    } catch (const CancelledError&) {
        // Cancelled by the runtime's shutdown: the waiting thread hears why, as a std::exception
        // (a CancelledError is none: a plain thread's catch (std::exception&) would miss it).
        error = current_runtime_shutting_down()
                    ? std::make_exception_ptr(RuntimeShutDown("the runtime shut down before the task finished"))
                    : std::current_exception();
    } catch (...) {
        error = std::current_exception();
    }
    promise.set_exception(error);
}

}  // namespace detail

/// Spawns `task` on `runtime` from any thread; the future receives its outcome.
template <class T>
std::future<T> run_coroutine_threadsafe(Runtime& runtime, Task<T> task) {
    detail::FuturePromise<T> promise;
    std::future<T> future = promise.get_future();
    runtime.spawn(detail::future_root(std::move(task), std::move(promise)), "run_coroutine_threadsafe").detach();
    return future;
}

}  // namespace weft
