// weft::TaskRef (current_task()): cancel yourself, cancel(msg) whose CancelledError carries the
// message (also through a JoinHandle), asyncio's cancelling()/uncancel() counts, done(); and
// weft::call_soon: FIFO, cancellable, never inline.
#include <catch2/catch.hpp>

#include <weft/call_soon.hpp>
#include <weft/current_task.hpp>
#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/yield.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "support/clock.hpp"
#include "support/log_capture.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

weft::RuntimeOptions workers(unsigned n) { return weft::RuntimeOptions{.workers = n, .name = "task-ref"}; }

// What a JoinHandle's await reports: the message of the CancelledError, or "ok".
template <class T>
weft::Task<std::string> outcome(weft::JoinHandle<T> handle) {
    try {
        co_await handle;
        co_return "ok";
    } catch (const weft::CancelledError& e) {
        co_return "cancelled:" + std::string(e.message());
    }
}

weft::Task<void> sleeper() { co_await weft::sleep(1h); }

}  // namespace

TEST_CASE("a task cancels itself: the next await raises, with the message", "[task_ref]") {
    auto body = []() -> weft::Task<std::string> {
        weft::TaskRef me = weft::current_task();
        std::string log;
        CHECK(me.cancelling() == 0);
        CHECK(me.cancel("enough"));
        log += "asked ";  // no await yet: nothing raised
        CHECK(me.cancelling() == 1);
        try {
            co_await weft::yield_now();
            log += "NOT raised ";
        } catch (const weft::CancelledError& e) {
            log += "raised:" + std::string(e.message()) + ":" + e.what() + " ";
        }
        // Delivery does not take the request back (asyncio): uncancel() does.
        log += std::to_string(me.cancelling()) + " ";
        log += std::to_string(me.uncancel()) + " ";
        co_await weft::yield_now();  // refused: it carries on
        log += "on";
        co_return log;
    };
    CHECK(weft::run(body(), workers(1)) == "asked raised:enough:enough 1 0 on");
}

TEST_CASE("uncancel() to zero on the task itself withdraws a request not delivered yet", "[task_ref]") {
    auto body = []() -> weft::Task<int> {
        weft::TaskRef me = weft::current_task();
        me.cancel("one");
        me.cancel("two");
        int count = static_cast<int>(me.cancelling());  // 2
        count = count * 10 + static_cast<int>(me.uncancel());  // 1: still pending
        count = count * 10 + static_cast<int>(me.uncancel());  // 0: withdrawn
        count = count * 10 + static_cast<int>(me.uncancel());  // stays 0
        co_await weft::yield_now();  // nothing raised
        co_await weft::sleep(0ms);
        co_return count;
    };
    CHECK(weft::run(body(), workers(1)) == 2100);
}

TEST_CASE("JoinHandle::cancel(msg): the awaiter's CancelledError carries the message", "[task_ref]") {
    auto body = []() -> weft::Task<std::vector<std::string>> {
        std::vector<std::string> seen;
        // Suspended in a wait.
        auto a = weft::spawn(sleeper());
        co_await weft::yield_now();
        CHECK(a.cancel("shutting down"));
        seen.push_back(co_await outcome(std::move(a)));
        // Cancelled before it ever started: it ends cancelled unrun, with the message.
        auto b = weft::spawn(sleeper());
        CHECK(b.cancel("never mind"));
        seen.push_back(co_await outcome(std::move(b)));
        // Without a message: the default text, an empty message().
        auto c = weft::spawn(sleeper());
        co_await weft::yield_now();
        c.cancel();
        seen.push_back(co_await outcome(std::move(c)));
        // The latest message before the delivery wins (asyncio keeps the last one).
        auto d = weft::spawn(sleeper());
        d.cancel("first");
        d.cancel("second");
        seen.push_back(co_await outcome(std::move(d)));
        // Returning without another await after cancel(msg) still ends cancelled (must_cancel).
        weft::Event go;
        auto e = weft::spawn([](weft::Event& go) -> weft::Task<void> {
            weft::current_task().cancel("self, then return");
            co_await go.wait();  // (cancellation raises here)
        }(go));
        seen.push_back(co_await outcome(std::move(e)));
        co_return seen;
    };
    CHECK(weft::run(body(), workers(1)) == std::vector<std::string>{"cancelled:shutting down", "cancelled:never mind",
                                                                    "cancelled:", "cancelled:second",
                                                                    "cancelled:self, then return"});
    CHECK(std::string(weft::CancelledError().what()) == "weft::CancelledError: the task was cancelled");
    CHECK(weft::CancelledError("x").message() == "x");
}

TEST_CASE("cancelling() counts cancel() calls from outside, timeouts and TaskGroup do not add", "[task_ref]") {
    auto body = []() -> weft::Task<std::string> {
        std::string log;
        weft::TaskRef me = weft::current_task();
        // An expired timeout() scope: TimeoutError, and the count stays 0 (asyncio shows 0 again
        // once the scope has uncancel()ed its own request).
        try {
            auto deadline = weft::timeout(10ms);
            co_await weft::sleep(1h);
        } catch (const weft::TimeoutError&) {
            log += "timeout:" + std::to_string(me.cancelling()) + " ";
        }
        // wait_for: the same.
        try {
            co_await weft::wait_for(sleeper(), 10ms);
        } catch (const weft::TimeoutError&) {
            log += "wait_for:" + std::to_string(me.cancelling()) + " ";
        }
        // A cancel() from outside inside a scope: CancelledError, counted once.
        auto canceller = weft::spawn([](weft::TaskRef target) -> weft::Task<void> {
            target.cancel("outside");
            co_return;
        }(me));
        try {
            auto deadline = weft::timeout(1h);
            co_await weft::sleep(30min);
        } catch (const weft::TimeoutError&) {
            log += "WRONG ";
        } catch (const weft::CancelledError& e) {
            log += "cancelled:" + std::string(e.message()) + ":" + std::to_string(me.cancelling()) + " ";
        }
        co_await canceller;
        log += std::to_string(me.uncancel());
        co_return log;
    };
    CHECK(weft::run(body(), test::paused_clock()) == "timeout:0 wait_for:0 cancelled:outside:1 0");
}

TEST_CASE("a child's TaskRef: id, name, cancelling, done", "[task_ref]") {
    auto body = []() -> weft::Task<std::string> {
        weft::Event release;
        weft::Event started;  // orders the child's write of child_ref before our reads (2 workers)
        weft::TaskRef* out = nullptr;
        weft::TaskRef child_ref(nullptr);
        out = &child_ref;
        auto child = weft::spawn(
            [](weft::TaskRef* out, weft::Event& started, weft::Event& release) -> weft::Task<int> {
                *out = weft::current_task();
                started.set();
                co_await release.wait();
                co_return 7;
            }(out, started, release),
            "child");
        co_await started.wait();
        std::string log = std::string(child_ref.name()) + " ";
        log += child_ref.id() == child.id() ? "same-id " : "OTHER-id ";
        log += child_ref.done() ? "done " : "running ";
        release.set();
        while (!child.is_done()) co_await weft::yield_now();
        log += child_ref.done() ? "done " : "running ";  // the handle keeps the frame
        log += child_ref.cancel() ? "cancelled" : "too late";
        log += " " + std::to_string(co_await child);
        co_return log;
    };
    CHECK(weft::run(body(), workers(2)) == "child same-id running done too late 7");
}

TEST_CASE("cancel(msg) racing from other workers: each task gets exactly its own message", "[task_ref][stress]") {
    const int count = test::scaled(4000, 400);
    auto body = [](int count) -> weft::Task<int> {
        std::vector<weft::JoinHandle<void>> tasks;
        tasks.reserve(static_cast<std::size_t>(count));
        for (int i = 0; i < count; ++i) tasks.push_back(weft::spawn(sleeper()));
        // Cancellers on other workers, each cancelling a slice, twice (counts: 2 per task).
        std::vector<weft::JoinHandle<void>> cancellers;
        for (int part = 0; part < 4; ++part) {
            std::vector<weft::TaskRef> slice;
            for (int i = part; i < count; i += 4) slice.emplace_back(tasks[static_cast<std::size_t>(i)].task_header());
            cancellers.push_back(weft::spawn([](std::vector<weft::TaskRef> slice, int part) -> weft::Task<void> {
                for (std::size_t k = 0; k < slice.size(); ++k) {
                    int i = part + static_cast<int>(k) * 4;
                    slice[k].cancel("msg-" + std::to_string(i));
                    co_await weft::yield_now();
                }
            }(std::move(slice), part)));
        }
        for (auto& canceller : cancellers) co_await canceller;
        int right = 0;
        for (int i = 0; i < count; ++i) {
            std::string seen = co_await outcome(std::move(tasks[static_cast<std::size_t>(i)]));
            right += seen == "cancelled:msg-" + std::to_string(i);
        }
        co_return right;
    };
    CHECK(weft::run(body(count), workers(4)) == count);
}

TEST_CASE("call_soon: FIFO, after the caller yields, cancellable before it runs", "[call_soon]") {
    const int count = test::scaled(5000, 1000);
    auto body = [](int count) -> weft::Task<std::string> {
        std::vector<int> ran;
        std::vector<weft::CallHandle> handles;
        weft::Event all_done;
        for (int i = 0; i < count; ++i) handles.push_back(weft::call_soon([&ran, i] { ran.push_back(i); }));
        handles.push_back(weft::call_soon([&all_done] { all_done.set(); }));
        std::string log = ran.empty() ? "not-inline " : "INLINE ";
        int cancelled = 0;
        for (int i = 1; i < count; i += 2) cancelled += handles[static_cast<std::size_t>(i)].cancel();
        co_await all_done.wait();
        bool in_order = true;
        for (std::size_t k = 0; k < ran.size(); ++k) in_order &= ran[k] == static_cast<int>(k) * 2;
        log += std::to_string(cancelled) + " " + std::to_string(ran.size()) + (in_order ? " fifo " : " DISORDER ");
        log += handles[0].done() && !handles[0].cancel() && handles[1].cancelled() ? "states" : "WRONG-states";
        // One that throws is logged; the next one still runs.
        weft::Event after;
        auto bad = weft::call_soon([] { throw std::runtime_error("boom"); });
        auto good = weft::call_soon([&after] { after.set(); });
        co_await after.wait();
        log += bad.done() && good.done() ? " survived" : " LOST";
        co_return log;
    };
    const std::string half = std::to_string(count / 2);
    test::LogCapture log;
    CHECK(weft::run(body(count), workers(2)) == "not-inline " + half + " " + half + " fifo states survived");
    REQUIRE(log.errors().size() == 1);
    CHECK(log.errors()[0].text == "weft: a call_soon callback threw: boom");
    REQUIRE_THROWS_AS(weft::call_soon([] {}), weft::UsageError);
}

TEST_CASE("call_soon from many tasks on many workers: every callback runs once", "[call_soon][stress]") {
    const int tasks = test::scaled(2000, 200);
    auto body = [](int tasks) -> weft::Task<long> {
        std::atomic<long> sum{0};
        std::vector<weft::JoinHandle<void>> handles;
        for (int t = 0; t < tasks; ++t) {
            handles.push_back(weft::spawn([](std::atomic<long>& sum, int t) -> weft::Task<void> {
                weft::Event done;
                weft::call_soon([&sum, t] { sum += t; });
                weft::call_soon([&done] { done.set(); });
                co_await done.wait();
            }(sum, t)));
        }
        for (auto& h : handles) co_await h;
        co_return sum.load();
    };
    const long expected = static_cast<long>(tasks) * (tasks - 1) / 2;
    CHECK(weft::run(body(tasks), workers(4)) == expected);
}

TEST_CASE("cancel(msg) of a task awaiting a child reaches the child with the message", "[task_ref]") {
    auto body = []() -> weft::Task<std::string> {
        std::string log;
        for (bool started_first : {true, false}) {  // joined as its own task, or run inline
            std::string child_saw;
            weft::Event recorded;  // (weft's joiner raises at once; the child ends on its own)
            auto parent =
                weft::spawn([](std::string& child_saw, weft::Event& recorded, bool started_first) -> weft::Task<void> {
                    auto child = weft::spawn([](std::string& saw, weft::Event& recorded) -> weft::Task<void> {
                        try {
                            co_await weft::sleep(1h);
                        } catch (const weft::CancelledError& e) {
                            saw = e.message();
                            recorded.set();
                            throw;
                        }
                    }(child_saw, recorded));
                    if (started_first) co_await weft::yield_now();
                    co_await child;
                }(child_saw, recorded, started_first));
            co_await weft::yield_now();
            co_await weft::yield_now();
            parent.cancel("stop");
            log += co_await outcome(std::move(parent));
            co_await recorded.wait();
            log += "/" + child_saw + " ";
        }
        co_return log;
    };
    CHECK(weft::run(body(), workers(1)) == "cancelled:stop/stop cancelled:stop/stop ");
}
