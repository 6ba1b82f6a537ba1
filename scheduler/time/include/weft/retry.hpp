// weft::retry: call an async operation again after a failure, with exponential backoff,
// jitter, a predicate and a total deadline (Python's tenacity / backoff, Polly, tokio-retry).
//
//   Response r = co_await weft::retry([&]() -> weft::Task<Response> { co_return co_await client.get(url); },
//                                     {.attempts = 5, .initial = 100ms, .max_delay = 5s,
//                                      .retry_if = weft::retry_on<weft::IoError>(), .deadline = 10s});
//
// fn is called once per attempt and must return a fresh awaitable (a Task) each time; retry
// returns the first result. After the k-th failure it sleeps min(max_delay, initial *
// multiplier^(k-1)), jittered (Jitter::full, the default: uniform in [0, that]; equal: half of
// it plus uniform in [0, half]; none: exactly that), then tries again.
//
// What ends it (pick from here; each case is tested):
//  - the attempts run out, retry_if says no, or the next delay would end at or past the
//    deadline: the last attempt's exception is rethrown as it was (tenacity's reraise=True);
//  - the deadline passes while an attempt runs (or sleeps): the attempt is cancelled (it sees
//    CancelledError, as inside wait_for) and retry throws weft::TimeoutError (e.scope() ==
//    nullptr), as `asyncio.wait_for(retrying(), deadline)` would: a deadline cuts the work short;
//  - cancellation is never retried: a CancelledError (cancel(), or an enclosing timeout()
//    scope's TimeoutError, e.scope() != nullptr) goes straight out, and so does one raised in
//    the backoff sleep. An exception not derived from std::exception is not retried either.
//  - attempt_timeout bounds each attempt (wait_for): its TimeoutError (scope() == nullptr) is a
//    failure like any other, retried if retry_if allows (by default it does). A timeout()
//    scope of the attempt's own whose TimeoutError escapes fn is not retried (it cannot be
//    told from an enclosing one's): inside fn use wait_for, or attempt_timeout.
//
// Jitter draws from splitmix64 seeded by `seed` (0: a fresh random seed per call), so a test
// can fix the delays. UsageError (from the co_await) for attempts == 0, a negative delay, a
// multiplier below 1, or a deadline/attempt_timeout that is not positive.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <weft/detail/awaitable.hpp>
#include <weft/detail/deadline_after.hpp>
#include <weft/error.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>

namespace weft {

enum class Jitter : unsigned char {
    none,   // exactly the backoff
    full,   // uniform in [0, backoff] (AWS's "full jitter": spreads a crowd of retries best)
    equal,  // backoff / 2 + uniform in [0, backoff / 2]
};

struct RetryPolicy {
    std::size_t attempts = 3;                                         // tries in all, the first included
    Clock::duration initial = std::chrono::milliseconds(100);          // backoff after the first failure
    Clock::duration max_delay = std::chrono::seconds(10);              // cap on the backoff (before jitter)
    double multiplier = 2.0;                                           // growth per failure (1: constant)
    Jitter jitter = Jitter::full;
    std::function<bool(const std::exception&)> retry_if{};             // empty: every std::exception
    std::optional<Clock::duration> deadline{};                         // bound on the whole retry
    std::optional<Clock::duration> attempt_timeout{};                  // bound on each attempt
    std::uint64_t seed = 0;                                            // jitter's seed; 0: random
};

/// A retry_if that retries the exceptions of the types listed (and types derived from them).
///
///   .retry_if = weft::retry_on<weft::IoError, std::system_error>()
template <class... E>
std::function<bool(const std::exception&)> retry_on() {
    static_assert(sizeof...(E) > 0, "weft::retry_on<E...>(): name at least one exception type");
    return [](const std::exception& e) { return ((dynamic_cast<const E*>(&e) != nullptr) || ...); };
}

namespace detail {
// UsageError for a policy that cannot work.
void check_retry_policy(const RetryPolicy& policy);
// The random state for one retry() call: `seed`, or a fresh random one.
std::uint64_t retry_seed(const RetryPolicy& policy) noexcept;
// The sleep after the `failures`-th failure (from 1), jitter drawn from `rng`.
Clock::duration retry_delay(const RetryPolicy& policy, std::size_t failures, std::uint64_t& rng) noexcept;
// Logged at debug level before each backoff.
void log_retry(std::size_t attempt, const std::exception_ptr& error, Clock::duration delay);

template <class Fn>
using retry_result_t = std::remove_cvref_t<await_result_t<std::invoke_result_t<Fn&>>>;

template <class T, class Fn>
Task<T> retry_loop(Fn& fn, const RetryPolicy& policy, std::optional<Clock::time_point> deadline) {
    std::uint64_t rng = retry_seed(policy);
    for (std::size_t attempt = 1;; ++attempt) {
        std::exception_ptr error;
        bool retriable = false;
        try {
            if (policy.attempt_timeout) {
                if constexpr (std::is_void_v<T>) {
                    co_await wait_for(fn(), *policy.attempt_timeout);
                    co_return;
                } else {
                    co_return co_await wait_for(fn(), *policy.attempt_timeout);
                }
            } else {
                if constexpr (std::is_void_v<T>) {
                    co_await fn();
                    co_return;
                } else {
                    co_return co_await fn();
                }
            }
        } catch (const TimeoutError& e) {
            if (e.scope() != nullptr) throw;  // a timeout() scope's deadline: a cancellation
            error = std::current_exception();
            retriable = !policy.retry_if || policy.retry_if(e);
        } catch (const CancelledError&) {
            throw;  // never retried
        } catch (const std::exception& e) {
            error = std::current_exception();
            retriable = !policy.retry_if || policy.retry_if(e);
        }
        if (!retriable || attempt >= policy.attempts) std::rethrow_exception(error);
        const Clock::duration delay = retry_delay(policy, attempt, rng);
        if (deadline && now() + delay >= *deadline) std::rethrow_exception(error);  // no time for another
        log_retry(attempt, error, delay);
        co_await sleep(delay);
    }
}

template <class T, class Fn>
Task<T> retry_task(Fn fn, RetryPolicy policy) {
    check_retry_policy(policy);
    if (!policy.deadline) co_return co_await retry_loop<T>(fn, policy, std::nullopt);
    // The deadline is wait_for's: the loop sees a plain CancelledError, the caller TimeoutError.
    const Clock::time_point deadline = detail::deadline_after(now(), *policy.deadline);
    co_return co_await wait_for(retry_loop<T>(fn, policy, deadline), *policy.deadline);
}
}  // namespace detail

/// Awaits `fn()` until it succeeds or `policy` gives up (see the top of this file). fn is moved
/// into the returned Task's frame (a lambda capturing by reference is fine when the Task is
/// awaited at once).
template <class Fn>
    requires std::invocable<Fn&> && detail::awaitable<std::invoke_result_t<Fn&>>
Task<detail::retry_result_t<Fn>> retry(Fn fn, RetryPolicy policy = {}) {
    return detail::retry_task<detail::retry_result_t<Fn>>(std::move(fn), std::move(policy));
}

}  // namespace weft
