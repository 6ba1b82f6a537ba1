// weft::Future<T> (future.hpp): set once, awaited by many, set from any thread. Step by step on
// one worker first (states, errors, cancellation of an awaiter vs of the future), then the
// request-batching pattern on 2 workers and set_result racing from foreign threads, with
// every answer counted.
#include <catch2/catch.hpp>

#include <weft/testing/waiters.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/clock.hpp"
#include "support/scaled.hpp"
#include "support/sync_steps.hpp"

using namespace std::chrono_literals;

namespace {

weft::Task<int> await_future(weft::Future<int> f) { co_return co_await f; }

weft::Task<void> states_and_errors() {
    weft::Future<int> f;
    CHECK_FALSE(f.done());
    CHECK_FALSE(f.cancelled());
    CHECK_THROWS_AS(f.result(), weft::InvalidStateError);
    CHECK_THROWS_AS(f.exception(), weft::InvalidStateError);
    auto a = weft::spawn(await_future(f));
    auto b = weft::spawn(await_future(f));
    co_await weft::testing::until_waiters(f, 2);
    f.set_result(42);
    CHECK(f.done());
    CHECK_THROWS_AS(f.set_result(43), weft::InvalidStateError);  // set twice
    CHECK_THROWS_AS(f.set_exception(std::make_exception_ptr(std::runtime_error("x"))), weft::InvalidStateError);
    CHECK_FALSE(f.cancel());
    int ra = co_await a;
    int rb = co_await b;
    CHECK(ra == 42);
    CHECK(rb == 42);
    CHECK(f.result() == 42);  // readable, not consumed
    CHECK(f.result() == 42);
    CHECK(f.exception() == nullptr);
    int again = co_await f;   // a done future: at once
    CHECK(again == 42);

    weft::Future<int> failing;
    auto c = weft::spawn(await_future(failing));
    co_await weft::testing::until_waiters(failing, 1);
    failing.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    bool rethrown = false;
    try {
        (void)co_await c;
    } catch (const std::runtime_error& e) {
        rethrown = std::string(e.what()) == "boom";
    }
    CHECK(rethrown);
    CHECK_THROWS_AS(failing.result(), std::runtime_error);
    CHECK(failing.exception() != nullptr);
    CHECK_THROWS_AS(failing.set_exception(nullptr), weft::UsageError);

    weft::Future<> v;
    v.set_result();
    co_await v;
    v.result();
    CHECK(v.done());

    weft::Future<int> moved;
    weft::Future<int> to(std::move(moved));
    CHECK_THROWS_AS(moved.done(), weft::UsageError);
    CHECK(to == weft::Future<int>(to));
}

// Future::cancel(): every awaiter raises CancelledError (asyncio), and the tasks end cancelled.
weft::Task<void> cancelled_future() {
    weft::Future<int> f;
    auto a = weft::spawn(await_future(f));
    co_await weft::testing::until_waiters(f, 1);
    CHECK(f.cancel());
    CHECK_FALSE(f.cancel());
    CHECK(f.cancelled());
    CHECK(f.done());
    co_await test::expect_cancelled(std::move(a));
    CHECK_THROWS_AS(f.result(), weft::CancelledError);
    CHECK_THROWS_AS(f.exception(), weft::CancelledError);
    CHECK_THROWS_AS(f.set_result(1), weft::InvalidStateError);
}

// A task cancelled while it awaits leaves the future untouched (weft differs from asyncio here,
// see future.hpp): still pending, the other awaiter still gets the result.
weft::Task<void> cancelled_awaiter_leaves_future() {
    weft::Future<int> f;
    auto a = weft::spawn(await_future(f));
    auto b = weft::spawn(await_future(f));
    co_await weft::testing::until_waiters(f, 2);
    CHECK(a.cancel());
    co_await test::expect_cancelled(std::move(a));
    CHECK_FALSE(f.done());
    CHECK_FALSE(f.cancelled());
    CHECK(weft::testing::waiters(f) == 1);
    f.set_result(5);
    int rb = co_await b;
    CHECK(rb == 5);
    // Set, then the awaiter cancelled before it ran: the cancel wins (asyncio's rule), the
    // future keeps its result.
    weft::Future<int> g;
    auto c = weft::spawn(await_future(g));
    co_await weft::testing::until_waiters(g, 1);
    g.set_result(6);
    CHECK(c.cancel());
    co_await test::expect_cancelled(std::move(c));
    CHECK(g.result() == 6);
}

weft::Task<void> wait_for_future() {
    weft::Future<int> f;
    const auto start = weft::now();
    bool timed_out = false;
    try {
        (void)co_await weft::wait_for(f, 100ms);  // an lvalue Future: wait_for copies the handle
    } catch (const weft::TimeoutError&) {
        timed_out = true;
    }
    CHECK(timed_out);
    CHECK(test::ms_since(start) == 100);
    CHECK_FALSE(f.done());  // untouched
    CHECK(weft::testing::waiters(f) == 0);
    auto setter = weft::spawn([](weft::Future<int> f) -> weft::Task<void> {
        co_await weft::sleep(10ms);
        f.set_result(9);
    }(f));
    int v = co_await weft::wait_for(f, 100ms);
    CHECK(v == 9);
    co_await setter;
    // A cancelled future through wait_for: CancelledError, not TimeoutError.
    weft::Future<int> c;
    c.cancel();
    bool cancelled = false;
    try {
        (void)co_await weft::wait_for(c, 100ms);
    } catch (const weft::TimeoutError&) {
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    CHECK(cancelled);
}

weft::Task<void> move_only_result() {
    weft::Future<std::unique_ptr<int>> f;
    f.set_result(std::make_unique<int>(7));
    CHECK(*f.result() == 7);  // read in place
    std::unique_ptr<int> p = co_await std::move(f);
    CHECK(*p == 7);
    CHECK_THROWS_AS(f.result(), weft::InvalidStateError);  // taken
    bool refused = false;
    try {
        auto q = co_await std::move(f);
    } catch (const weft::InvalidStateError&) {
        refused = true;
    }
    CHECK(refused);
}

test::EagerCoroutine await_outside_weft(weft::Future<int> f, bool* refused) {
    try {
        (void)co_await f;
    } catch (const weft::UsageError&) {
        *refused = true;
    }
}

weft::Task<void> wait_blocking_inside_task_refused() {
    weft::Future<int> f;
    CHECK_THROWS_AS(f.wait_blocking(), weft::UsageError);
    co_return;
}

weft::Task<void> await_until_shutdown(weft::Future<int> f, std::shared_ptr<std::atomic<int>> unwound) {
    try {
        (void)co_await f;
    } catch (const weft::CancelledError&) {
        unwound->fetch_add(1);
        throw;
    }
}

weft::Task<void> main_leaves_waiters(weft::Future<int> f, std::shared_ptr<std::atomic<int>> unwound) {
    for (int i = 0; i < 3; ++i) weft::spawn(await_until_shutdown(f, unwound)).detach();
    co_await weft::testing::until_waiters(f, 3);
}

}  // namespace

TEST_CASE("Future: at shutdown, tasks awaiting a future nobody sets are cancelled", "[sync][future][shutdown]") {
    const unsigned workers = GENERATE(1u, 2u);
    weft::Future<int> f;
    auto unwound = std::make_shared<std::atomic<int>>(0);
    weft::run(main_leaves_waiters(f, unwound), weft::RuntimeOptions{.workers = workers});
    CHECK(unwound->load() == 3);
    CHECK_FALSE(f.done());  // untouched, and still usable
    f.set_result(1);
    CHECK(f.result() == 1);
}

TEST_CASE("Future: set once, awaited by several tasks, readable after", "[sync][future]") {
    weft::run(states_and_errors(), test::one_worker());
}

TEST_CASE("Future: cancel() raises CancelledError in every awaiter", "[sync][future]") {
    weft::run(cancelled_future(), test::one_worker());
}

TEST_CASE("Future: a cancelled awaiter leaves the future pending for the others", "[sync][future][cancel]") {
    weft::run(cancelled_awaiter_leaves_future(), test::one_worker());
}

TEST_CASE("Future: wait_for(future) times out without touching the future", "[sync][future][wait_for]") {
    weft::run(wait_for_future(), test::paused_clock());
}

TEST_CASE("Future: a move-only result is read in place or taken once", "[sync][future]") {
    weft::run(move_only_result(), test::one_worker());
}

TEST_CASE("Future: a plain thread cannot co_await it but can wait_blocking(), a task cannot block", "[sync][future]") {
    weft::Future<int> f;
    bool refused = false;
    await_outside_weft(f, &refused);
    CHECK(refused);
    weft::run(wait_blocking_inside_task_refused(), test::one_worker());
    // A thread blocks until a task sets it.
    std::thread waiter([f] {
        f.wait_blocking();
        CHECK(f.result() == 11);
    });
    weft::run(
        [](weft::Future<int> f) -> weft::Task<void> {
            co_await weft::sleep(1ms);
            f.set_result(11);
        }(f),
        test::one_worker());
    waiter.join();
}

// ---- request batching: a Future per caller, resolved by a batcher task --------------------

namespace {

struct Request {
    int x;
    weft::Future<int> reply;
};

weft::Task<int> call(weft::Queue<Request>& q, int x) {
    weft::Future<int> reply;
    Request request{x, reply};  // (not built inside the co_await: g++ 12 destroys such a temporary twice)
    co_await q.put(std::move(request));
    co_return co_await reply;
}

weft::Task<void> batcher(weft::Queue<Request>& q, std::atomic<int>& batches, std::atomic<int>& oversized) {
    try {
        for (;;) {
            std::vector<Request> batch;
            Request first = co_await q.get();
            batch.push_back(std::move(first));
            while (batch.size() < 64 && !q.empty()) batch.push_back(q.get_nowait());
            if (batch.size() > 64) oversized.fetch_add(1);
            batches.fetch_add(1);
            for (auto& r : batch) r.reply.set_result(r.x * 3 + 1);
        }
    } catch (const weft::QueueShutDown&) {
    }
}

weft::Task<void> batching(int callers) {
    weft::Queue<Request> q;
    std::atomic<int> batches{0}, oversized{0};
    auto b = weft::spawn(batcher(q, batches, oversized));
    std::vector<weft::JoinHandle<int>> calls;
    calls.reserve(static_cast<std::size_t>(callers));
    for (int i = 0; i < callers; ++i) calls.push_back(weft::spawn(call(q, i)));
    int wrong = 0;
    for (int i = 0; i < callers; ++i) {
        int answer = co_await calls[static_cast<std::size_t>(i)];
        wrong += answer != i * 3 + 1;
    }
    CHECK(wrong == 0);  // each caller got exactly its own answer
    q.shutdown();
    co_await b;
    CHECK(oversized.load() == 0);
    CHECK(batches.load() >= (callers + 63) / 64);
    CHECK(batches.load() <= callers);
}

}  // namespace

TEST_CASE("Future: request batching, 10,000 callers on 2 workers each get their own answer", "[sync][future][stress]") {
    const int iterations = test::scaled(5, 1);
    for (int i = 0; i < iterations; ++i) weft::run(batching(10'000), weft::RuntimeOptions{.workers = 2});
}

// ---- set_result from 4 foreign threads racing 1,000 awaiting tasks -------------------------

TEST_CASE("Future: set_result from 4 foreign threads racing 1,000 awaiting tasks", "[sync][future][stress]") {
    const int iterations = test::scaled(10, 3);
    const int n = 1000, threads = 4;
    for (int it = 0; it < iterations; ++it) {
        std::vector<weft::Future<int>> futures(static_cast<std::size_t>(n));
        std::vector<std::atomic<int>> winner(static_cast<std::size_t>(n));
        std::atomic<int> set_ok{0}, refused{0};
        std::atomic<bool> go{false};
        std::vector<std::thread> setters;
        for (int t = 0; t < threads; ++t) {
            setters.emplace_back([&, t] {
                while (!go.load()) std::this_thread::yield();
                for (int i = 0; i < n; ++i) {
                    // Each thread walks the futures from a different place, so they collide.
                    int k = (i + t * n / threads) % n;
                    try {
                        futures[static_cast<std::size_t>(k)].set_result(k * 10 + t);
                        winner[static_cast<std::size_t>(k)].store(t);
                        set_ok.fetch_add(1);
                    } catch (const weft::InvalidStateError&) {
                        refused.fetch_add(1);
                    }
                }
            });
        }
        weft::run(
            [&]() -> weft::Task<void> {
                std::vector<weft::JoinHandle<int>> waiters;
                for (int i = 0; i < n; ++i) {
                    // Two tasks per future: several awaiters each get the same value.
                    waiters.push_back(weft::spawn(await_future(futures[static_cast<std::size_t>(i)])));
                    waiters.push_back(weft::spawn(await_future(futures[static_cast<std::size_t>(i)])));
                    if (i == n / 2) go.store(true);  // the threads start while tasks are still arriving
                }
                int wrong = 0;
                for (int i = 0; i < n; ++i) {
                    int a = co_await waiters[static_cast<std::size_t>(2 * i)];
                    int b = co_await waiters[static_cast<std::size_t>(2 * i + 1)];
                    wrong += a != b || a / 10 != i;
                }
                CHECK(wrong == 0);
            }(),
            weft::RuntimeOptions{.workers = 2});
        for (auto& s : setters) s.join();
        CHECK(set_ok.load() == n);                    // exactly one set per future
        CHECK(refused.load() == n * (threads - 1));   // the others refused, none lost
        int mismatched = 0;
        for (int i = 0; i < n; ++i) {
            auto& f = futures[static_cast<std::size_t>(i)];
            mismatched += f.result() != i * 10 + winner[static_cast<std::size_t>(i)].load();
        }
        CHECK(mismatched == 0);  // the value awaited is the winner's
    }
}
