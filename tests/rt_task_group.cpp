// weft::TaskGroup: waiting for every member, the first failure cancelling the others, the
// ExceptionGroup of every non-cancellation failure, and cancellation of the waiting task.
//
// Exact instants come from the paused clock (one worker, virtual time).
#include <catch2/catch.hpp>

#include <weft/sleep.hpp>
#include <weft/task_group.hpp>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/clock.hpp"
#include "support/counted.hpp"
#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

struct Tally {
    std::atomic<int> cleanups{0};
    std::atomic<int> cancelled{0};
    std::atomic<int> finished{0};
};

weft::Task<int> member(std::chrono::milliseconds delay, int value, Tally* tally) {
    test::Cleanup cleanup{&tally->cleanups};
    try {
        co_await weft::sleep(delay);
    } catch (const weft::CancelledError&) {
        tally->cancelled.fetch_add(1);
        throw;
    }
    tally->finished.fetch_add(1);
    co_return value;
}

weft::Task<void> fail_after(std::chrono::milliseconds delay, std::string message) {
    co_await weft::sleep(delay);
    throw std::runtime_error(message);
}

std::vector<std::string> messages(const weft::ExceptionGroup& group) {
    std::vector<std::string> out;
    for (const auto& error : group.exceptions()) {
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            out.push_back(e.what());
        } catch (...) {
            out.push_back("?");
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

// ---- success ------------------------------------------------------------------------------------

struct GroupRun {
    std::int64_t at_ms = -1;
    int sum = 0;
    std::vector<std::string> errors;
    bool threw_group = false;
    int cleanups_at_return = -1;
};

weft::Task<GroupRun> run_with_a_body(Tally* tally) {
    const auto start = weft::now();
    GroupRun out;
    std::vector<weft::JoinHandle<int>> handles;
    co_await weft::TaskGroup::run([&](weft::TaskGroup& group) -> weft::Task<void> {
        handles.push_back(group.spawn(member(30ms, 1, tally)));
        handles.push_back(group.spawn(member(10ms, 2, tally)));
        co_await weft::sleep(5ms);
        handles.push_back(group.spawn(member(40ms, 4, tally)));  // joins late: still waited for
    });
    out.at_ms = test::ms_since(start);
    for (auto& handle : handles) out.sum += co_await handle;  // all finished: no wait
    co_return out;
}

weft::Task<GroupRun> spawn_then_wait(Tally* tally) {
    const auto start = weft::now();
    GroupRun out;
    weft::TaskGroup group;
    auto a = group.spawn(member(20ms, 5, tally));
    group.spawn(member(10ms, 6, tally)).detach();
    co_await group.wait();
    out.at_ms = test::ms_since(start);
    out.sum = co_await a;
    co_await group.wait();  // nothing left: returns at once
    co_return out;
}

// ---- failures
// -------------------------------------------------------------------------------------

weft::Task<GroupRun> one_failure_cancels_siblings(Tally* tally) {
    const auto start = weft::now();
    GroupRun out;
    try {
        co_await weft::TaskGroup::run([&](weft::TaskGroup& group) -> weft::Task<void> {
            group.spawn(member(1h, 1, tally)).detach();
            group.spawn(fail_after(10ms, "disk full")).detach();
            group.spawn(member(2h, 2, tally)).detach();
            co_await weft::sleep(3h);  // the body is a member too: cancelled as well
        });
    } catch (const weft::ExceptionGroup& group) {
        out.threw_group = true;
        out.errors = messages(group);
        out.cleanups_at_return = tally->cleanups.load();
    }
    out.at_ms = test::ms_since(start);
    co_return out;
}

// Two members fail at the same virtual instant: both failures are collected (the second
// was already woken when the first cancelled it, and a finished sleep is not interrupted).
weft::Task<GroupRun> two_failures_at_one_instant(Tally* tally) {
    const auto start = weft::now();
    GroupRun out;
    try {
        weft::TaskGroup group;
        group.spawn(fail_after(10ms, "first")).detach();
        group.spawn(member(1h, 1, tally)).detach();
        group.spawn(fail_after(10ms, "second")).detach();
        co_await group.wait();
    } catch (const weft::ExceptionGroup& group) {
        out.threw_group = true;
        out.errors = messages(group);
        out.cleanups_at_return = tally->cleanups.load();
    }
    out.at_ms = test::ms_since(start);
    co_return out;
}

weft::Task<GroupRun> body_fails(Tally* tally) {
    GroupRun out;
    try {
        co_await weft::TaskGroup::run([&](weft::TaskGroup& group) -> weft::Task<void> {
            group.spawn(member(1h, 1, tally)).detach();
            co_await weft::sleep(5ms);
            throw std::logic_error("body gave up");
        });
    } catch (const weft::ExceptionGroup& group) {
        out.threw_group = true;
        out.errors = messages(group);
        out.cleanups_at_return = tally->cleanups.load();
    }
    co_return out;
}

// ---- cancelling the waiter ---------------------------------------------------------------------

weft::Task<void> group_waiter(Tally* tally) {
    co_await weft::TaskGroup::run([&](weft::TaskGroup& group) -> weft::Task<void> {
        for (int i = 0; i < 5; ++i) group.spawn(member(std::chrono::hours(1 + i), i, tally)).detach();
        co_return;
    });
}

weft::Task<std::pair<bool, int>> cancel_the_waiter(Tally* tally) {
    auto waiter = weft::spawn(group_waiter(tally));
    co_await weft::sleep(10ms);
    waiter.cancel();
    bool threw = false;
    try {
        co_await waiter;
    } catch (const weft::CancelledError&) {
        threw = true;
    }
    // The group waited for its members before the waiter finished.
    co_return std::pair{threw, tally->cleanups.load()};
}

// ---- asyncio's shutting-down rules -------------------------------------------------------------

// Cancelled, its cleanup fails.
weft::Task<void> fails_when_cancelled() {
    bool cancelled = false;
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        cancelled = true;
    }
    if (cancelled) throw std::runtime_error("cleanup failed");
}

weft::Task<void> group_whose_member_fails_on_cancel() {
    co_await weft::TaskGroup::run([](weft::TaskGroup& group) -> weft::Task<void> {
        group.spawn(fails_when_cancelled()).detach();
        co_return;
    });
}

// The waiting task is cancelled; a member's cleanup fails: the ExceptionGroup, not CancelledError.
weft::Task<std::vector<std::string>> cancel_a_waiter_whose_member_fails() {
    auto waiter = weft::spawn(group_whose_member_fails_on_cancel());
    co_await weft::sleep(10ms);
    waiter.cancel();
    try {
        co_await waiter;
    } catch (const weft::ExceptionGroup& group) {
        co_return messages(group);
    } catch (const weft::CancelledError&) {
        co_return std::vector<std::string>{"CancelledError"};
    }
    co_return std::vector<std::string>{};
}

weft::Task<void> count_run(int* ran) {
    ++*ran;
    co_return;
}

struct Refusals {
    int refused_while_failing = 0;
    int refused_when_finished = 0;
    bool group_failed = false;
    int late_ran = 0;
    int member_cancelled_at_spawn = 0;
};

weft::Task<Refusals> spawn_into_a_failed_then_finished_group() {
    Refusals out;
    weft::TaskGroup group;
    group.spawn(fail_after(1ms, "first")).detach();
    co_await weft::sleep(5ms);  // it has failed: the group is shutting down
    try {
        group.spawn(count_run(&out.late_ran)).detach();
    } catch (const weft::UsageError&) {
        ++out.refused_while_failing;
    }
    try {
        co_await group.wait();
    } catch (const weft::ExceptionGroup&) {
        out.group_failed = true;
    }
    try {
        group.spawn(count_run(&out.late_ran)).detach();
    } catch (const weft::UsageError&) {
        ++out.refused_when_finished;
    }
    co_await weft::sleep(5ms);
    co_return out;
}

// A member spawning after a sibling failed. Its cancellation delivered (it caught it), the
// spawn is a UsageError, as asyncio's RuntimeError; with a cancellation still pending (not
// delivered yet), the spawn delivers it: a CancelledError, not a failure of its own.
weft::Task<Refusals> member_spawns_while_the_group_fails() {
    Refusals out;
    try {
        co_await weft::TaskGroup::run([&out](weft::TaskGroup& group) -> weft::Task<void> {
            group.spawn(fail_after(1ms, "first")).detach();
            group
                .spawn([](weft::TaskGroup& group, Refusals* out) -> weft::Task<void> {
                    try {
                        co_await weft::sleep(5ms);  // cancelled at 1 ms
                    } catch (const weft::CancelledError&) {
                    }
                    try {
                        group.spawn(count_run(&out->late_ran)).detach();
                    } catch (const weft::UsageError&) {
                        ++out->refused_while_failing;
                    }
                    group.cancel();  // a cancellation pending for this member again
                    try {
                        group.spawn(count_run(&out->late_ran)).detach();
                    } catch (const weft::CancelledError&) {
                        ++out->member_cancelled_at_spawn;
                        throw;
                    }
                }(group, &out))
                .detach();
            co_return;
        });
    } catch (const weft::ExceptionGroup& group) {
        out.group_failed = messages(group) == std::vector<std::string>{"first"};
    }
    co_return out;
}

// ---- many workers
// ---------------------------------------------------------------------------------

weft::Task<void> yield_then_maybe_fail(int index, int fail_every, std::atomic<int>* finished) {
    for (int i = 0; i < index % 4; ++i) co_await weft::yield_now();
    if (fail_every && index % fail_every == 0) throw std::runtime_error("member " + std::to_string(index));
    finished->fetch_add(1);
}

weft::Task<int> big_group(int count, std::atomic<int>* finished) {
    weft::TaskGroup group;
    for (int i = 0; i < count; ++i) group.spawn(yield_then_maybe_fail(i, 0, finished)).detach();
    co_await group.wait();
    co_return finished->load();
}

weft::Task<std::size_t> big_group_with_failures(int count, std::atomic<int>* finished) {
    try {
        weft::TaskGroup group;
        for (int i = 0; i < count; ++i) group.spawn(yield_then_maybe_fail(i, 1000, finished)).detach();
        co_await group.wait();
    } catch (const weft::ExceptionGroup& group) {
        co_return group.exceptions().size();
    }
    co_return 0;
}

}  // namespace

TEST_CASE("TaskGroup::run waits for every member, also those spawned late", "[task_group]") {
    Tally tally;
    GroupRun out = weft::run(run_with_a_body(&tally), test::paused_clock());
    CHECK(out.at_ms == 45);
    CHECK(out.sum == 7);
    CHECK(tally.finished == 3);
}

TEST_CASE("TaskGroup spawn + wait(), a member's handle is ready afterwards", "[task_group]") {
    Tally tally;
    GroupRun out = weft::run(spawn_then_wait(&tally), test::paused_clock());
    CHECK(out.at_ms == 20);
    CHECK(out.sum == 5);
    CHECK(tally.finished == 2);
}

TEST_CASE("TaskGroup: a failure cancels the siblings and the body, ExceptionGroup of one", "[task_group]") {
    Tally tally;
    GroupRun out = weft::run(one_failure_cancels_siblings(&tally), test::paused_clock());
    CHECK(out.threw_group);
    CHECK(out.errors == std::vector<std::string>{"disk full"});
    CHECK(out.at_ms == 10);              // not hours: the others were cancelled
    CHECK(out.cleanups_at_return == 2);  // and had unwound before run() returned
    CHECK(tally.cancelled == 2);
}

// Both sleeps end in the same tick; the first member to run fails and cancels the other,
// whose timer has fired but which has not run yet: as in asyncio (_must_cancel), that cancel
// takes effect, so the other never gets to fail. (Which of the two runs first is not asyncio's
// deadline order yet: a worker runs the tasks that one tick's timers woke newest first.)
TEST_CASE("TaskGroup: of two failures due at the same instant, the first cancels the second", "[task_group]") {
    Tally tally;
    GroupRun out = weft::run(two_failures_at_one_instant(&tally), test::paused_clock());
    CHECK(out.threw_group);
    REQUIRE(out.errors.size() == 1);
    CHECK((out.errors[0] == "first" || out.errors[0] == "second"));
    CHECK(out.at_ms == 10);
    CHECK(out.cleanups_at_return == 1);
    CHECK(tally.cancelled == 1);
}

TEST_CASE("TaskGroup: the body's own failure cancels the members and is reported", "[task_group]") {
    Tally tally;
    GroupRun out = weft::run(body_fails(&tally), test::paused_clock());
    CHECK(out.threw_group);
    CHECK(out.errors == std::vector<std::string>{"body gave up"});
    CHECK(out.cleanups_at_return == 1);
    CHECK(tally.cancelled == 1);
}

TEST_CASE("TaskGroup: cancelling the waiting task cancels and waits for the members", "[task_group]") {
    Tally tally;
    auto [threw, cleanups_at_end] = weft::run(cancel_the_waiter(&tally), test::paused_clock());
    CHECK(threw);
    CHECK(cleanups_at_end == 5);
    CHECK(tally.cancelled == 5);
    CHECK(tally.finished == 0);
}

TEST_CASE("TaskGroup with many members on many workers", "[task_group]") {
    const unsigned workers = GENERATE(1u, 2u, 4u);
    CAPTURE(workers);
    const int count = test::scaled(20'000, 2'000);
    std::atomic<int> finished{0};
    CHECK(weft::run(big_group(count, &finished), {.workers = workers}) == count);
    // Members 0, 1000, 2000, ... throw before their first await. The first failure cancels
    // the others, but a member still starts (TaskGroup runs every body) and these have no
    // cancellation point before their throw: every one of them is in the ExceptionGroup.
    std::atomic<int> finished_with_failures{0};
    const auto failures = weft::run(big_group_with_failures(count, &finished_with_failures), {.workers = workers});
    CHECK(failures == static_cast<std::size_t>((count + 999) / 1000));
}

TEST_CASE("TaskGroup: members' failures win over the waiter's cancellation (asyncio)", "[task_group]") {
    CHECK(weft::run(cancel_a_waiter_whose_member_fails(), test::paused_clock()) ==
          std::vector<std::string>{"cleanup failed"});
}

TEST_CASE("TaskGroup: spawn into a failed or finished group throws UsageError, the task never runs", "[task_group]") {
    Refusals out = weft::run(spawn_into_a_failed_then_finished_group(), test::paused_clock());
    CHECK(out.refused_while_failing == 1);
    CHECK(out.group_failed);
    CHECK(out.refused_when_finished == 1);
    CHECK(out.late_ran == 0);
}

TEST_CASE("TaskGroup: a member spawning while the group fails gets its cancellation", "[task_group]") {
    Refusals out = weft::run(member_spawns_while_the_group_fails(), test::paused_clock());
    CHECK(out.refused_while_failing == 1);
    CHECK(out.member_cancelled_at_spawn == 1);
    CHECK(out.group_failed);  // the ExceptionGroup holds only the real failure
    CHECK(out.late_ran == 0);
}
