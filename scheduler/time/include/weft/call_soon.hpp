// weft::call_soon(fn): run a callback soon on this loop (asyncio's loop.call_soon).
//
//   auto handle = weft::call_soon([&] { flush(buffer); });   // after the current task yields
//   ...
//   handle.cancel();   // false if it already ran (or is running)
//
// Callbacks run in the order call_soon was called on this worker (FIFO), one after another,
// inside a small runner task queued at the back of this worker's round; never inside call_soon
// itself. An exception a callback throws is logged (asyncio logs it too); the others still run.
// Call it from a weft task (UsageError elsewhere; from another thread use
// Runtime::call_soon_threadsafe). Where weft differs: asyncio has one loop thread; here the
// runner is an ordinary task, so an idle worker may steal it and the callbacks then run there,
// still in order. Callbacks still queued when the runtime shuts down are dropped, not run.
#pragma once

#include <functional>
#include <memory>

#include <weft/detail/atomic.hpp>

namespace weft {

namespace detail {
struct SoonCall {
    static constexpr unsigned char kPending = 0, kRunning = 1, kDone = 2, kCancelled = 3;
    Atomic<unsigned char> state{kPending};
    std::function<void()> fn;
};
}  // namespace detail

/// What call_soon returns (asyncio's Handle): cancel() it before it runs. Dropping it is fine.
///
///   weft::CallHandle h = weft::call_soon(report);
///   if (h.cancel()) { /* report will never run */ }
class CallHandle {
public:
    CallHandle() = default;
    explicit CallHandle(std::shared_ptr<detail::SoonCall> call) noexcept : call_(std::move(call)) {}
    /// True if the callback had not started: it never will. False once it ran, runs, or was cancelled.
    bool cancel() noexcept {
        unsigned char expected = detail::SoonCall::kPending;
        return call_ && call_->state.compare_exchange_strong(expected, detail::SoonCall::kCancelled,
                                                             detail::memory_order_acq_rel);
    }
    bool cancelled() const noexcept {
        return call_ && call_->state.load(detail::memory_order_acquire) == detail::SoonCall::kCancelled;
    }
    /// True once the callback has returned (or thrown).
    bool done() const noexcept {
        return call_ && call_->state.load(detail::memory_order_acquire) == detail::SoonCall::kDone;
    }

private:
    std::shared_ptr<detail::SoonCall> call_;
};

CallHandle call_soon(std::function<void()> fn);

}  // namespace weft
