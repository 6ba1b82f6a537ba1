// What "awaitable" means to weft's combinators that take any awaitable (wait_for): an awaiter
// (await_ready/await_suspend/await_resume), or a type whose operator co_await (member or free)
// returns one. Used to give a readable error for a type that is not awaitable, and to name
// the result type of awaiting it.
//
//   static_assert(weft::detail::awaitable<weft::Task<int>>);
//   using R = weft::detail::await_result_t<weft::Task<int>>;   // int
#pragma once

#include <concepts>
#include <coroutine>
#include <type_traits>
#include <utility>

namespace weft::detail {

// How wait_for(x, t) with t <= 0 treats x, as asyncio.wait_for does (`if timeout <= 0`):
//  - refuse (the default): x is not awaited at all (a coroutine never starts, a queue keeps
//    its item, a semaphore its permit): TimeoutError at once;
//  - result_if_done (a Future, a Shielded task): the result of one finished already, else
//    TimeoutError;
//  - cancel_task (a JoinHandle): a finished task's result, else the task is cancelled and
//    awaited, then TimeoutError (or its value, if it caught the cancellation and returned).
// The types concerned specialise expired_wait_for beside their definition.
enum class ExpiredWaitFor : unsigned char { refuse, result_if_done, cancel_task };
template <class A>
inline constexpr ExpiredWaitFor expired_wait_for = ExpiredWaitFor::refuse;

template <class W>
concept awaiter = requires(W& w, std::coroutine_handle<> h) {
    { w.await_ready() } -> std::convertible_to<bool>;
    w.await_suspend(h);
    w.await_resume();
};

template <class A>
concept member_co_await = requires(A&& a) { static_cast<A&&>(a).operator co_await(); };
template <class A>
concept free_co_await = requires(A&& a) { operator co_await(static_cast<A&&>(a)); };

// The awaiter `co_await static_cast<A&&>(a)` uses (as the compiler picks it).
template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (member_co_await<A>) {
        return static_cast<A&&>(a).operator co_await();
    } else if constexpr (free_co_await<A>) {
        return operator co_await(static_cast<A&&>(a));
    } else {
        return static_cast<A&&>(a);
    }
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

// `A` is the type of the expression awaited: `T` (an rvalue) or `T&` (an lvalue).
template <class A>
concept awaitable = (member_co_await<A> || free_co_await<A> || awaiter<std::remove_reference_t<A>>) &&
                    awaiter<std::remove_reference_t<awaiter_t<A>>>;

template <class A>
using await_result_t = decltype(std::declval<std::remove_reference_t<awaiter_t<A>>&>().await_resume());

}  // namespace weft::detail
