// A child joined inline (the fork-join fast path: awaited while still unstarted, it runs
// inside the awaiting task, and a cancel() of it is forwarded to that host task) that is
// cancelled from outside at the moment its wait_for expires: the cancellation is the
// child's alone. The parent sees the child end, may carry on, and must not end cancelled
// (found by tools/stress, whose supervisors restart consumers cancelled in a queue get).
#include <catch2/catch.hpp>

#include <weft/current_task.hpp>
#include <weft/join_handle.hpp>
#include <weft/queue.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/yield.hpp>

#include <chrono>
#include <string_view>

using namespace std::chrono_literals;

namespace {

// 0: the child ended cancelled, 1: its wait_for timed out and it returned.
weft::Task<int> child(weft::Queue<int>& queue) {
    try {
        int item = co_await weft::wait_for(queue.get(), 10ms);
        (void)item;
    } catch (const weft::TimeoutError&) {
        co_return 1;
    }
    co_return 2;
}

weft::Task<void> cancel_at(weft::JoinHandle<int>& slot, std::chrono::milliseconds when) {
    co_await weft::sleep(when);
    slot.cancel("from outside");
}

weft::Task<int> parent(weft::Queue<int>& queue, weft::JoinHandle<int>& slot) {
    slot = weft::spawn(child(queue));
    int outcome = 0;
    try {
        outcome = co_await slot;
    } catch (const weft::CancelledError&) {
        outcome = 0;
    }
    co_await weft::sleep(1ms);  // the parent carries on: a cancellation of its own lands here
    co_await weft::yield_now();
    co_return outcome;
}

// The canceller's timer is due at the child's deadline, registered before or after it.
weft::Task<int> scenario(bool canceller_first, std::chrono::milliseconds when) {
    weft::Queue<int> queue;
    weft::JoinHandle<int> slot;
    weft::JoinHandle<void> cancelling;
    if (canceller_first) cancelling = weft::spawn(cancel_at(slot, when));
    auto parent_handle = weft::spawn(parent(queue, slot));
    if (!canceller_first) cancelling = weft::spawn(cancel_at(slot, when));
    co_await cancelling;
    int result = -1;
    try {
        result = co_await parent_handle;
    } catch (const weft::CancelledError&) {
        result = -2;  // the child's cancellation leaked into its parent
    }
    co_return result;
}

}  // namespace

TEST_CASE("a child joined inline, cancelled as its wait_for expires, does not cancel its parent",
          "[inline_join][cancel]") {
    bool canceller_first = GENERATE(false, true);
    int when_ms = GENERATE(5, 10, 15);
    CAPTURE(canceller_first, when_ms);
    int result = weft::run(scenario(canceller_first, std::chrono::milliseconds(when_ms)),
                           weft::RuntimeOptions{.workers = 1, .virtual_time = true});
    REQUIRE(result >= 0);
}

namespace {
// The child is cancelled while it runs (here: by itself) and returns without another await.
weft::Task<int> self_cancelling_child() {
    weft::current_task().cancel("while running");
    co_return 7;
}

weft::Task<int> parent_of_self_cancelling() {
    auto slot = weft::spawn(self_cancelling_child());
    int outcome = -1;
    try {
        outcome = co_await slot;  // joined inline: the child runs here, inside this task
    } catch (const weft::CancelledError&) {
        outcome = 0;  // asyncio: a task that returns with a cancel request pending ends cancelled
    }
    co_await weft::yield_now();  // a request left on this task would land here
    co_return outcome;
}

weft::Task<int> scenario_self_cancelling() {
    auto parent_handle = weft::spawn(parent_of_self_cancelling());
    int result = -1;
    try {
        result = co_await parent_handle;
    } catch (const weft::CancelledError&) {
        result = -2;  // the child's cancellation leaked into its parent
    }
    co_return result;
}
}  // namespace

// The request is forwarded to the host (request_cancel_as: inline_host) and counted on the
// child; the child returns before any await delivers it. The join (settle_inlined_cancel) takes
// the request back from the host and ends the child cancelled: the parent catches the child's
// CancelledError and carries on, as when the child runs as its own task (the case below). Before
// the fix the request stayed on the host: the parent's next await threw CancelledError("while
// running") although nobody had cancelled it.
TEST_CASE("a child joined inline, cancelled while it runs, then returning, does not cancel its parent",
          "[inline_join][cancel]") {
    int result = weft::run(scenario_self_cancelling(), weft::RuntimeOptions{.workers = 1});
    REQUIRE(result >= 0);
}

namespace {
// The same child, joined after it ran on its own (no inline join): the reference behaviour.
weft::Task<int> parent_of_started_self_cancelling() {
    auto slot = weft::spawn(self_cancelling_child());
    co_await weft::yield_now();  // the child runs first, as its own task
    int outcome = -1;
    try {
        outcome = co_await slot;
    } catch (const weft::CancelledError&) {
        outcome = 0;
    }
    co_await weft::yield_now();
    co_return outcome;
}
weft::Task<int> scenario_started_self_cancelling() {
    auto parent_handle = weft::spawn(parent_of_started_self_cancelling());
    int result = -1;
    try {
        result = co_await parent_handle;
    } catch (const weft::CancelledError&) {
        result = -2;
    }
    co_return result;
}
}  // namespace

TEST_CASE("a child cancelled while it runs, then returning, ends cancelled, its parent carries on",
          "[inline_join][cancel]") {
    int result = weft::run(scenario_started_self_cancelling(), weft::RuntimeOptions{.workers = 1});
    REQUIRE(result == 0);  // the child ended cancelled, the parent returned normally
}

namespace {
// Both cancelled while the child runs inline: the child ends cancelled, the parent keeps its
// own request for its next await (asyncio: each task delivers its own).
weft::Task<int> child_cancelling_both(weft::JoinHandle<int>* parent) {
    weft::current_task().cancel("child");
    parent->cancel("parent");
    co_return 7;
}

weft::Task<int> parent_cancelled_too(weft::JoinHandle<int>* self, int* child_outcome) {
    auto slot = weft::spawn(child_cancelling_both(self));
    try {
        *child_outcome = co_await slot;
    } catch (const weft::CancelledError&) {
        *child_outcome = 0;
    }
    try {
        co_await weft::yield_now();
    } catch (const weft::CancelledError& error) {
        co_return std::string_view(error.what()).find("parent") != std::string_view::npos ? 1 : -3;
    }
    co_return -4;  // its own cancellation was lost
}

weft::Task<int> scenario_both_cancelled(int* child_outcome) {
    weft::JoinHandle<int> parent_handle;
    parent_handle = weft::spawn(parent_cancelled_too(&parent_handle, child_outcome));
    co_return co_await parent_handle;
}
}  // namespace

TEST_CASE("a child joined inline and its parent, both cancelled while the child runs: each ends its own way",
          "[inline_join][cancel]") {
    for (int i = 0; i < 50; ++i) {
        int child_outcome = -1;
        int result = weft::run(scenario_both_cancelled(&child_outcome), weft::RuntimeOptions{.workers = 1});
        REQUIRE(child_outcome == 0);
        REQUIRE(result == 1);
    }
}
