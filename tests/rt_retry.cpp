// weft::retry: exact backoff instants on the paused clock (jitter none), the cap, giving up
// (attempts, retry_if, a deadline with no time for another try) with the last exception, a
// deadline cutting an attempt short (TimeoutError, the attempt sees CancelledError),
// attempt_timeout, cancellation never retried (cancel() in an attempt or in the backoff, an
// enclosing timeout() scope), jitter bounds and reproducibility with a seed, and misuse.
#include <catch2/catch.hpp>

#include <weft/retry.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/clock.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

struct Flaky : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct Fatal : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Records the instant (ms since start) of every attempt.
struct Attempts {
    weft::Clock::time_point start = weft::now();
    std::vector<std::int64_t> at;
    int cancelled = 0;  // attempts that saw a CancelledError
    void record() { at.push_back(test::ms_since(start)); }
};

weft::Task<void> succeeds_on_the_fourth_attempt() {
    Attempts attempts;
    int result = co_await weft::retry(
        [&]() -> weft::Task<int> {
            attempts.record();
            if (attempts.at.size() < 4) throw Flaky("attempt " + std::to_string(attempts.at.size()));
            co_return 42;
        },
        {.attempts = 5, .initial = 100ms, .jitter = weft::Jitter::none});
    CHECK(result == 42);
    CHECK(attempts.at == std::vector<std::int64_t>{0, 100, 300, 700});
}

weft::Task<void> rethrows_the_last_exception_when_attempts_run_out() {
    Attempts attempts;
    std::string caught;
    try {
        co_await weft::retry(
            [&]() -> weft::Task<void> {
                attempts.record();
                throw Flaky("attempt " + std::to_string(attempts.at.size()));
                co_return;
            },
            {.attempts = 3, .initial = 100ms, .jitter = weft::Jitter::none});
    } catch (const Flaky& e) {
        caught = e.what();
    }
    CHECK(caught == "attempt 3");
    CHECK(attempts.at == std::vector<std::int64_t>{0, 100, 300});
    CHECK(test::ms_since(attempts.start) == 300);  // no sleep after the last attempt
}

weft::Task<void> backoff_is_capped() {
    Attempts attempts;
    try {
        co_await weft::retry(
            [&]() -> weft::Task<void> {
                attempts.record();
                throw Flaky("again");
                co_return;
            },
            {.attempts = 5, .initial = 100ms, .max_delay = 500ms, .multiplier = 10, .jitter = weft::Jitter::none});
    } catch (const Flaky&) {
    }
    CHECK(attempts.at == std::vector<std::int64_t>{0, 100, 600, 1100, 1600});
}

weft::Task<void> retry_if_says_no() {
    Attempts attempts;
    bool fatal = false;
    try {
        co_await weft::retry(
            [&]() -> weft::Task<void> {
                attempts.record();
                if (attempts.at.size() == 1) throw Flaky("flaky");
                throw Fatal("fatal");
                co_return;
            },
            {.attempts = 5, .initial = 10ms, .jitter = weft::Jitter::none, .retry_if = weft::retry_on<Flaky>()});
    } catch (const Fatal&) {
        fatal = true;
    }
    CHECK(fatal);
    CHECK(attempts.at == std::vector<std::int64_t>{0, 10});
    // A non-std exception is never retried.
    int calls = 0;
    bool caught_int = false;
    try {
        co_await weft::retry(
            [&]() -> weft::Task<void> {
                ++calls;
                throw 7;
                co_return;
            },
            {.attempts = 5, .initial = 10ms});
    } catch (int) {
        caught_int = true;
    }
    CHECK(caught_int);
    CHECK(calls == 1);
}

// Each attempt takes 50 ms and fails; backoff 100, 200, 400, 800 ms; deadline 1 s. Attempt 4
// fails at 900 ms; the next backoff would end past the deadline: its error is rethrown then.
weft::Task<void> deadline_leaves_no_time_for_another_try() {
    Attempts attempts;
    std::string caught;
    try {
        co_await weft::retry(
            [&]() -> weft::Task<void> {
                attempts.record();
                co_await weft::sleep(50ms);
                throw Flaky("attempt " + std::to_string(attempts.at.size()));
            },
            {.attempts = 10, .initial = 100ms, .jitter = weft::Jitter::none, .deadline = 1s});
    } catch (const Flaky& e) {
        caught = e.what();
    }
    CHECK(caught == "attempt 4");
    CHECK(attempts.at == std::vector<std::int64_t>{0, 150, 400, 850});
    CHECK(test::ms_since(attempts.start) == 900);
}

// The deadline passes during an attempt: that attempt is cancelled, retry throws TimeoutError.
weft::Task<void> deadline_cuts_an_attempt_short() {
    Attempts attempts;
    bool timed_out = false;
    try {
        co_await weft::retry(
            [&]() -> weft::Task<void> {
                attempts.record();
                try {
                    co_await weft::sleep(300ms);
                } catch (const weft::CancelledError&) {
                    ++attempts.cancelled;
                    throw;
                }
                throw Flaky("slow and failing");
            },
            {.attempts = 10, .initial = 100ms, .jitter = weft::Jitter::none, .deadline = 500ms});
    } catch (const weft::TimeoutError& e) {
        timed_out = e.scope() == nullptr;
    }
    CHECK(timed_out);
    CHECK(attempts.at == std::vector<std::int64_t>{0, 400});
    CHECK(attempts.cancelled == 1);
    CHECK(test::ms_since(attempts.start) == 500);
}

// attempt_timeout: each attempt is a wait_for; its TimeoutError is retried like any failure,
// and rethrown as the last error when the attempts run out.
weft::Task<void> attempt_timeout_is_retried() {
    Attempts attempts;
    bool timed_out = false;
    try {
        co_await weft::retry(
            [&]() -> weft::Task<void> {
                attempts.record();
                try {
                    co_await weft::sleep(1s);
                } catch (const weft::CancelledError&) {
                    ++attempts.cancelled;
                    throw;
                }
            },
            {.attempts = 3, .initial = 10ms, .jitter = weft::Jitter::none, .attempt_timeout = 100ms});
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(attempts.at == std::vector<std::int64_t>{0, 110, 230});
    CHECK(attempts.cancelled == 3);
    CHECK(test::ms_since(attempts.start) == 330);
    // ...and an attempt that finishes in time returns.
    int calls = 0;
    int v = co_await weft::retry(
        [&]() -> weft::Task<int> {
            if (++calls == 1) co_await weft::sleep(1s);
            co_return calls;
        },
        {.attempts = 3, .initial = 10ms, .jitter = weft::Jitter::none, .attempt_timeout = 100ms});
    CHECK(v == 2);
}

weft::Task<void> failing_forever(Attempts& attempts) {
    co_await weft::retry(
        [&]() -> weft::Task<void> {
            attempts.record();
            try {
                co_await weft::sleep(50ms);
            } catch (const weft::CancelledError&) {
                ++attempts.cancelled;
                throw;
            }
            throw Flaky("again");
        },
        {.attempts = 100, .initial = 100ms, .jitter = weft::Jitter::none});
}

weft::Task<void> cancellation_is_never_retried() {
    {  // cancelled during an attempt
        Attempts attempts;
        auto h = weft::spawn(failing_forever(attempts));
        co_await weft::sleep(170ms);  // attempt 1 failed at 50, attempt 2 started at 150
        h.cancel();
        co_await test::expect_cancelled(std::move(h));
        CHECK(attempts.at == std::vector<std::int64_t>{0, 150});
        CHECK(attempts.cancelled == 1);
        co_await weft::sleep(1s);
        CHECK(attempts.at.size() == 2);
    }
    {  // cancelled in the backoff sleep
        Attempts attempts;
        auto h = weft::spawn(failing_forever(attempts));
        co_await weft::sleep(100ms);  // attempt 1 failed at 50; backoff until 150
        h.cancel();
        co_await test::expect_cancelled(std::move(h));
        CHECK(attempts.at == std::vector<std::int64_t>{0});
        CHECK(attempts.cancelled == 0);
        co_await weft::sleep(1s);
        CHECK(attempts.at.size() == 1);
    }
    {  // an enclosing timeout() scope expires during an attempt: its TimeoutError goes out
        Attempts attempts;
        bool ours = false;
        try {
            auto scope = weft::timeout(170ms);
            try {
                co_await failing_forever(attempts);
            } catch (const weft::TimeoutError& e) {
                ours = e.scope() == &scope;
                throw;
            }
        } catch (const weft::TimeoutError&) {
        }
        CHECK(ours);
        CHECK(attempts.at == std::vector<std::int64_t>{0, 150});
        CHECK(attempts.cancelled == 1);
    }
}

// Full jitter: each backoff is in [0, min(max_delay, initial * 2^(k-1))]; the same seed gives
// the same delays, another seed others.
weft::Task<std::vector<std::int64_t>> jittered_instants(std::uint64_t seed, weft::Jitter jitter) {
    Attempts attempts;
    try {
        co_await weft::retry(
            [&]() -> weft::Task<void> {
                attempts.record();
                throw Flaky("again");
                co_return;
            },
            {.attempts = 8, .initial = 100ms, .max_delay = 2s, .jitter = jitter, .seed = seed});
    } catch (const Flaky&) {
    }
    co_return attempts.at;
}

weft::Task<void> jitter_bounds_and_seed() {
    std::vector<std::int64_t> a = co_await jittered_instants(7, weft::Jitter::full);
    std::vector<std::int64_t> b = co_await jittered_instants(7, weft::Jitter::full);
    std::vector<std::int64_t> c = co_await jittered_instants(8, weft::Jitter::full);
    REQUIRE(a.size() == 8);
    CHECK(a == b);
    CHECK(a != c);
    const std::int64_t caps[] = {100, 200, 400, 800, 1600, 2000, 2000};
    for (std::size_t k = 0; k + 1 < a.size(); ++k) {
        const std::int64_t gap = a[k + 1] - a[k];  // the sleep, rounded up to the next ms
        CHECK(gap >= 0);
        CHECK(gap <= caps[k]);
    }
    std::vector<std::int64_t> e = co_await jittered_instants(9, weft::Jitter::equal);
    for (std::size_t k = 0; k + 1 < e.size(); ++k) {
        const std::int64_t gap = e[k + 1] - e[k];
        CHECK(gap >= caps[k] / 2);
        CHECK(gap <= caps[k]);
    }
}

weft::Task<void> misuse() {
    int calls = 0;
    auto fn = [&]() -> weft::Task<int> { co_return ++calls; };
    const weft::RetryPolicy bad[] = {
        {.attempts = 0}, {.initial = -1ms}, {.multiplier = 0.5}, {.deadline = 0ms}, {.attempt_timeout = -5ms},
    };
    int usage_errors = 0;
    for (const auto& policy : bad) {
        try {
            co_await weft::retry(fn, policy);
        } catch (const weft::UsageError&) {
            ++usage_errors;
        }
    }
    CHECK(usage_errors == 5);
    CHECK(calls == 0);
    int v = co_await weft::retry(fn);  // the defaults: succeeds at once
    CHECK(v == 1);
}

}  // namespace

TEST_CASE("retry: backoff at exact instants, then the result", "[retry]") {
    weft::run(succeeds_on_the_fourth_attempt(), test::paused_clock());
}

TEST_CASE("retry: the last exception when the attempts run out", "[retry]") {
    weft::run(rethrows_the_last_exception_when_attempts_run_out(), test::paused_clock());
}

TEST_CASE("retry: the backoff is capped at max_delay", "[retry]") {
    weft::run(backoff_is_capped(), test::paused_clock());
}

TEST_CASE("retry: retry_if (retry_on) decides, non-std exceptions are not retried", "[retry]") {
    weft::run(retry_if_says_no(), test::paused_clock());
}

TEST_CASE("retry: a deadline with no time for another try rethrows the last error", "[retry]") {
    weft::run(deadline_leaves_no_time_for_another_try(), test::paused_clock());
}

TEST_CASE("retry: a deadline passing during an attempt cancels it: TimeoutError", "[retry][cancel]") {
    weft::run(deadline_cuts_an_attempt_short(), test::paused_clock());
}

TEST_CASE("retry: attempt_timeout's TimeoutError is retried", "[retry]") {
    weft::run(attempt_timeout_is_retried(), test::paused_clock());
}

TEST_CASE("retry: cancellation is never retried (cancel(), backoff, enclosing timeout)", "[retry][cancel]") {
    weft::run(cancellation_is_never_retried(), test::paused_clock());
}

TEST_CASE("retry: jitter stays within its bounds, a seed reproduces it", "[retry]") {
    weft::run(jitter_bounds_and_seed(), test::paused_clock());
}

TEST_CASE("retry: a policy that cannot work is a UsageError", "[retry]") { weft::run(misuse(), test::paused_clock()); }
