// co_await weft::compute(fn, args...): run CPU-heavy work on the runtime's oneTBB arena.
//
//   std::uint64_t sum = co_await weft::compute([&data] {
//       return tbb::parallel_reduce(tbb::blocked_range<std::size_t>(0, data.size()), 0ull,
//                                   [&](auto r, std::uint64_t s) { ... }, std::plus<>());
//   });  // resumes on a worker loop; parallel algorithms inside use the arena's threads
//
// Pick compute for work that keeps a CPU busy (parsing, hashing, compression, image work,
// tbb::parallel_for); pick offload (offload.hpp) for calls that wait (syscalls, file I/O,
// DNS, sleep, locks, legacy clients). The arena has RuntimeOptions::compute_threads threads
// (default: one per CPU), separate from the event loops, so a long computation never stalls
// the loops and many computations never oversubscribe the cores. A blocking call inside
// compute() holds an arena thread idle: use offload for it.
//
// Outcome and cancellation are as for offload(): the value or the exception (unchanged) comes
// back to the awaiting task; cancelling the task ends the wait at once with CancelledError; a
// call not started yet never runs; a running one finishes in the background and its result
// is dropped. In addition the call runs inside its own tbb::task_group_context, which is
// cancelled then, so oneTBB algorithms inside (parallel_for, parallel_reduce, ...) stop at
// their next chunk; `fn(std::stop_token, args...)` is also stopped.
//
// compute() must be called from a task of a weft runtime: elsewhere it throws UsageError.
#pragma once

#include <oneapi/tbb/task_group.h>

#include <exception>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <weft/detail/bridge_call.hpp>
#include <weft/detail/task_header.hpp>

namespace weft {

namespace detail {

template <class Fn, class... Args>
class ComputeCall final : public BridgeCall {
public:
    using result_type = typename CallPayload<Fn, Args...>::result_type;

    template <class F, class... A>
    explicit ComputeCall(F&& fn, A&&... args)
        : BridgeCall(BridgeExecutor::compute, "weft::compute()", typeid(Fn)),
          payload_(std::forward<F>(fn), std::forward<A>(args)...) {}

    result_type take() { return payload_.take(); }

private:
    // On an arena thread. Nested algorithms bind to `context_` (their parent), so
    // cancelling it reaches them. run() catches everything fn throws.
    void invoke() noexcept override {
        try {
            tbb::task_group group(context_);
            group.run_and_wait([this] { payload_.run(); });
        } catch (...) {
            payload_.fail(std::current_exception());
        }
    }
    void on_abandon() noexcept override {
        context_.cancel_group_execution();
        payload_.request_stop();
    }

    tbb::task_group_context context_{tbb::task_group_context::isolated};
    CallPayload<Fn, Args...> payload_;
};

}  // namespace detail

template <class Fn, class... Args>
    requires detail::bridge_invocable<std::decay_t<Fn>, std::decay_t<Args>...>
auto compute(Fn&& fn, Args&&... args) {
    using Call = detail::ComputeCall<std::decay_t<Fn>, std::decay_t<Args>...>;
    detail::current_task_or_throw("weft::compute()");
    return detail::BridgeAwaitable<Call>(new Call(std::forward<Fn>(fn), std::forward<Args>(args)...));
}

}  // namespace weft
