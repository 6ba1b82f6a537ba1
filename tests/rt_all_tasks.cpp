// weft::all_tasks(): opt-in (RuntimeOptions::track_tasks), lists exactly the unfinished tasks,
// and its snapshots stay safe to cancel() and query after their task finished and was freed.
#include <catch2/catch.hpp>

#include <weft/all_tasks.hpp>
#include <weft/current_task.hpp>
#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "support/scaled.hpp"

using namespace std::chrono_literals;

namespace {

weft::RuntimeOptions tracked(unsigned n) {
    return weft::RuntimeOptions{.workers = n, .name = "all-tasks", .track_tasks = true};
}

weft::Task<void> sleeper() { co_await weft::sleep(1h); }
weft::Task<void> nap() { co_await weft::sleep(0ms); }

int count_named(const std::vector<weft::TaskSnapshot>& tasks, std::string_view prefix) {
    int n = 0;
    for (const auto& task : tasks) n += task.name().starts_with(prefix);
    return n;
}

}  // namespace

TEST_CASE("all_tasks() without RuntimeOptions::track_tasks is a UsageError that says so", "[all_tasks][usage]") {
    auto body = []() -> weft::Task<std::string> {
        try {
            (void)weft::all_tasks();
        } catch (const weft::UsageError& e) {
            co_return e.what();
        }
        co_return "not raised";
    };
    std::string message = weft::run(body(), weft::RuntimeOptions{.workers = 1});
    CHECK(message.find("track_tasks") != std::string::npos);
    weft::Runtime rt({.workers = 1});
    REQUIRE_THROWS_AS(weft::all_tasks(rt), weft::UsageError);
    REQUIRE_THROWS_AS(weft::all_tasks(), weft::UsageError);  // outside a task
}

TEST_CASE("all_tasks() lists the unfinished tasks, snapshots cancel with a message", "[all_tasks]") {
    auto body = []() -> weft::Task<std::string> {
        std::string log;
        std::vector<weft::JoinHandle<void>> handles;
        for (int i = 0; i < 100; ++i) handles.push_back(weft::spawn(sleeper(), "sleeper-" + std::to_string(i)));
        co_await weft::yield_now();
        auto tasks = weft::all_tasks();
        log += std::to_string(count_named(tasks, "sleeper-")) + " ";
        bool self_listed = false;
        for (const auto& task : tasks) self_listed |= task.id() == weft::current_task().id();
        log += self_listed ? "self " : "NO-self ";
        int cancelled = 0;
        for (const auto& task : tasks) {
            if (!task.name().starts_with("sleeper-")) continue;
            int i = std::stoi(std::string(task.name().substr(8)));
            if (i % 2 == 0) cancelled += task.cancel("sweep-" + std::to_string(i));
        }
        log += std::to_string(cancelled) + " ";
        int right = 0;
        for (int i = 0; i < 100; i += 2) {
            try {
                co_await handles[static_cast<std::size_t>(i)];
            } catch (const weft::CancelledError& e) {
                right += e.message() == "sweep-" + std::to_string(i);
            }
        }
        log += std::to_string(right) + " ";
        // Finished (the handles were consumed and the frames freed): gone from the list, and
        // their old snapshots say done and refuse to cancel.
        log += std::to_string(count_named(weft::all_tasks(), "sleeper-")) + " ";
        int stale = 0;
        for (const auto& task : tasks)
            if (task.name().starts_with("sleeper-") && std::stoi(std::string(task.name().substr(8))) % 2 == 0)
                stale += task.done() && !task.cancel();
        log += std::to_string(stale) + " ";
        for (int i = 1; i < 100; i += 2) handles[static_cast<std::size_t>(i)].cancel();
        for (int i = 1; i < 100; i += 2) {
            try {
                co_await handles[static_cast<std::size_t>(i)];
            } catch (const weft::CancelledError&) {
            }
        }
        log += std::to_string(weft::all_tasks().size());  // only this one
        co_return log;
    };
    CHECK(weft::run(body(), tracked(2)) == "100 self 50 50 50 50 1");
}

TEST_CASE("all_tasks() racing spawns, finishes and cancels on 4 workers", "[all_tasks][stress]") {
    const int rounds = test::scaled(200, 30);
    auto body = [](int rounds) -> weft::Task<int> {
        weft::Event stop;
        weft::Event swept_once;  // (a fast run could end before the sweeper ever ran)
        // A sweeper that lists and cancels whatever is called "victim" while tasks come and go.
        auto sweeper = weft::spawn([](weft::Event& stop, weft::Event& swept_once) -> weft::Task<long> {
            long seen = 0;
            while (!stop.is_set()) {
                for (const auto& task : weft::all_tasks()) {
                    seen += 1;
                    if (task.name() == "victim") (void)task.cancel("swept");
                    (void)task.done();
                }
                swept_once.set();
                co_await weft::yield_now();
            }
            co_return seen;
        }(stop, swept_once));
        int wrong = 0;
        for (int r = 0; r < rounds; ++r) {
            std::vector<weft::JoinHandle<int>> batch;
            for (int i = 0; i < 50; ++i) {
                batch.push_back(weft::spawn(
                    [](int i) -> weft::Task<int> {
                        for (int k = 0; k < i % 4; ++k) co_await weft::yield_now();
                        co_return i;
                    }(i),
                    i % 5 == 0 ? "victim" : ""));
                if (i % 7 == 0) weft::spawn(nap()).detach();  // frames freed by their completer
            }
            for (int i = 0; i < 50; ++i) {
                try {
                    wrong += co_await batch[static_cast<std::size_t>(i)] != i;
                } catch (const weft::CancelledError& e) {
                    wrong += e.message() != "swept";
                }
            }
        }
        co_await swept_once.wait();
        stop.set();
        long seen = co_await sweeper;
        wrong += seen == 0;
        while (weft::all_tasks().size() > 1) co_await weft::yield_now();  // the detached ones end
        co_return wrong;
    };
    CHECK(weft::run(body(rounds), tracked(4)) == 0);
}

TEST_CASE("a stale snapshot never reaches the task that took over its registry entry", "[all_tasks]") {
    // Entries are reused (the registry's free lists): the task spawned right after another was
    // freed takes its entry. The old snapshot must see its own task gone, and leave the new one be.
    auto body = []() -> weft::Task<std::string> {
        std::string log;
        std::vector<weft::TaskSnapshot> before;
        {
            auto first = weft::spawn(sleeper(), "first");
            co_await weft::yield_now();
            before = weft::all_tasks();
            first.cancel();
            try {
                co_await first;
            } catch (const weft::CancelledError&) {
                log += "first-cancelled ";
            }
        }  // the handle goes: the frame is freed, its entry free for the next task
        auto second = weft::spawn(sleeper(), "second");
        co_await weft::yield_now();
        for (const auto& task : before) {
            if (task.name() != "first") continue;
            log += task.done() ? "done " : "NOT-done ";
            log += task.cancel("stale") ? "CANCELLED-SOMETHING " : "refused ";
        }
        for (const auto& task : weft::all_tasks())
            if (task.name() == "second") log += task.cancelling() == 0 ? "second-untouched " : "SECOND-CANCELLED ";
        second.cancel("cleanup");
        try {
            co_await second;
        } catch (const weft::CancelledError& e) {
            log += e.message();
        }
        co_return log;
    };
    CHECK(weft::run(body(), tracked(1)) == "first-cancelled done refused second-untouched cleanup");
}
