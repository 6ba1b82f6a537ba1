// A coroutine that is not a weft task: it starts eagerly on the calling thread and is never
// resumed by a runtime. Tests use it to check that weft's awaitables refuse to suspend a
// coroutine weft does not run (UsageError), rather than losing it.
//
//   test::ForeignCoroutine probe(bool* refused) {
//       try { co_await weft::yield_now(); } catch (const weft::UsageError&) { *refused = true; }
//   }
//   auto c = probe(&refused);   // runs to completion right here
//   REQUIRE(c.done());
#pragma once

#include <coroutine>
#include <exception>
#include <utility>

namespace test {

class ForeignCoroutine {
public:
    struct promise_type {
        std::exception_ptr exception;
        ForeignCoroutine get_return_object() noexcept {
            return ForeignCoroutine(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() noexcept { exception = std::current_exception(); }
    };

    ForeignCoroutine(ForeignCoroutine&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    ForeignCoroutine& operator=(ForeignCoroutine&&) = delete;
    ~ForeignCoroutine() {
        if (handle_) handle_.destroy();
    }

    // True once the body finished (it never suspends at a weft awaitable for good).
    bool done() const noexcept { return handle_.done(); }
    std::exception_ptr exception() const noexcept { return handle_.promise().exception; }

private:
    explicit ForeignCoroutine(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
    std::coroutine_handle<promise_type> handle_;
};

}  // namespace test
