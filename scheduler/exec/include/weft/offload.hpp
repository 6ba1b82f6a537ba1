// co_await weft::offload(fn, args...): run a blocking call on the runtime's blocking pool
// (asyncio's run_in_executor, Tokio's spawn_blocking).
//
//   std::string text = co_await weft::offload(read_config, path);  // resumes on a worker loop
//   auto rows = co_await weft::offload([&db] { return db.query("select 1"); });
//   co_await weft::offload([](std::stop_token stop) { poll_until(stop); });  // cooperative
//
// offload vs compute (compute.hpp):
//  - offload: the call *waits* — a syscall, file I/O, getaddrinfo, a legacy client library,
//    sleep. Each running call holds one pool thread. The pool starts threads on demand up to
//    RuntimeOptions::max_blocking_threads (512), queues calls beyond that (never blocking the
//    loop that submitted them), and retires threads idle for blocking_keep_alive (10 s).
//  - compute: the call *computes* — parsing, compression, a tbb::parallel_for. It runs on a
//    oneTBB arena sized to the cores, so CPU work neither oversubscribes the machine nor
//    occupies the loops. Never block inside compute(): that starves the arena.
//
// Outcome: the value fn returns (decayed: a reference result is copied), or the exception
// it throws, rethrown in the awaiting task unchanged (same type, same object).
// fn and args are decay-copied into the call and invoked as rvalues, like std::thread; pass
// std::ref only to something that outlives the call (see Cancellation).
//
// Cancellation: cancelling the awaiting task (or its timeout() scope expiring) ends the wait at
// once with CancelledError (TimeoutError). A call that has not started yet never runs. A
// call already running cannot be interrupted: it finishes in the background on its pool
// thread, and its result (or exception) is dropped there — so it must not refer to the
// awaiting frame's locals. A callable taking a std::stop_token first, `fn(std::stop_token,
// args...)`, gets one that is stopped at that moment, and may return early; stop callbacks
// run on the thread that cancelled, so keep them short.
//
// Pool threads block SIGPIPE, so a call writing to a pipe whose reader has gone gets EPIPE
// (as Python code does, which ignores SIGPIPE) instead of killing the process.
//
// offload() must be called from a task of a weft runtime: elsewhere it throws UsageError.
#pragma once

#include <type_traits>
#include <typeinfo>
#include <utility>

#include <weft/detail/bridge_call.hpp>
#include <weft/detail/task_header.hpp>

namespace weft {

namespace detail {

template <class Fn, class... Args>
class OffloadCall final : public BridgeCall {
public:
    using result_type = typename CallPayload<Fn, Args...>::result_type;

    template <class F, class... A>
    explicit OffloadCall(F&& fn, A&&... args)
        : BridgeCall(BridgeExecutor::blocking, "weft::offload()", typeid(Fn)),
          payload_(std::forward<F>(fn), std::forward<A>(args)...) {}

    result_type take() { return payload_.take(); }

private:
    void invoke() noexcept override { payload_.run(); }
    void on_abandon() noexcept override { payload_.request_stop(); }

    CallPayload<Fn, Args...> payload_;
};

}  // namespace detail

template <class Fn, class... Args>
    requires detail::bridge_invocable<std::decay_t<Fn>, std::decay_t<Args>...>
auto offload(Fn&& fn, Args&&... args) {
    using Call = detail::OffloadCall<std::decay_t<Fn>, std::decay_t<Args>...>;
    detail::current_task_or_throw("weft::offload()");
    return detail::BridgeAwaitable<Call>(new Call(std::forward<Fn>(fn), std::forward<Args>(args)...));
}

}  // namespace weft
