// weft::Future::add_done_callback (asyncio's Future.add_done_callback): each callback once, in
// the order added, after set_result/set_exception/cancel; scheduled with call_soon on a worker
// (never inside the call that finished or added it), at once on a plain thread; a throwing
// callback is logged; a future dropped unset frees its callbacks.
#include <catch2/catch.hpp>

#include <weft/weft.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/log_capture.hpp"
#include "support/sync_steps.hpp"

namespace {

weft::Task<void> callbacks_after_set_result() {
    weft::Future<int> f;
    std::string log;
    f.add_done_callback([&log](const weft::Future<int>& done) {
        log += 'a';  // (two appends: g++ 12's -Wrestrict misfires on "a" + std::to_string(...))
        log += std::to_string(done.result());
    });
    f.add_done_callback([&log] { log += "b"; });
    f.add_done_callback([&log](const weft::Future<int>& done) { log += done.done() ? "c" : "?"; });
    CHECK(log.empty());  // pending: nothing yet
    f.set_result(7);
    CHECK(log.empty());  // not inside set_result (asyncio schedules them)
    co_await test::settle();
    CHECK(log == "a7bc");
    // Added once done: scheduled too, not run inside add_done_callback.
    f.add_done_callback([&log] { log += "d"; });
    CHECK(log == "a7bc");
    co_await test::settle();
    CHECK(log == "a7bcd");
}

weft::Task<void> callbacks_after_cancel_and_exception() {
    weft::Future<void> cancelled;
    weft::Future<std::string> failed;
    std::string log;
    cancelled.add_done_callback([&log](const weft::Future<void>& f) { log += f.cancelled() ? "cancelled " : "? "; });
    failed.add_done_callback([&log](const weft::Future<std::string>& f) {
        try {
            std::rethrow_exception(f.exception());
        } catch (const std::runtime_error& e) {
            log += e.what();
        }
    });
    CHECK(cancelled.cancel());
    failed.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    co_await test::settle();
    CHECK(log == "cancelled boom");
}

weft::Task<void> a_throwing_callback_is_logged() {
    weft::Future<int> f;
    int ran = 0;
    f.add_done_callback([] { throw std::runtime_error("callback failed"); });
    f.add_done_callback([&ran] { ++ran; });
    f.set_result(1);
    co_await test::settle();
    CHECK(ran == 1);  // the one after the throwing one still ran
}

}  // namespace

TEST_CASE("Future done callbacks: called once each, in order, after set_result, never inside it",
          "[sync][future][callbacks]") {
    weft::run(callbacks_after_set_result(), test::one_worker());
}

TEST_CASE("Future done callbacks: called after cancel() and set_exception(), seeing the outcome",
          "[sync][future][callbacks]") {
    weft::run(callbacks_after_cancel_and_exception(), test::one_worker());
}

TEST_CASE("Future done callbacks: an exception a callback throws is logged and the others run",
          "[sync][future][callbacks]") {
    test::LogCapture log;
    weft::run(a_throwing_callback_is_logged(), test::one_worker());
    REQUIRE(log.errors().size() == 1);
    CHECK(log.errors()[0].text.find("callback failed") != std::string::npos);
}

TEST_CASE("Future done callbacks: on a plain thread they run at once, on the thread that sets the future",
          "[sync][future][callbacks]") {
    weft::Future<int> f;
    std::thread::id ran_on;
    int seen = 0;
    f.add_done_callback([&](const weft::Future<int>& done) {
        ran_on = std::this_thread::get_id();
        seen = done.result();
    });
    std::thread setter([f]() mutable { f.set_result(42); });
    const std::thread::id setter_id = setter.get_id();
    setter.join();
    CHECK(ran_on == setter_id);
    CHECK(seen == 42);
    // Added after the end on a plain thread: at once, here.
    bool now = false;
    f.add_done_callback([&now] { now = true; });
    CHECK(now);
    CHECK_THROWS_AS(f.add_done_callback(std::function<void()>()), weft::UsageError);
}

TEST_CASE("Future done callbacks: a future dropped unset frees its callbacks and what they hold",
          "[sync][future][callbacks]") {
    auto alive = std::make_shared<int>(0);
    std::weak_ptr<int> watch = alive;
    {
        weft::Future<int> f;
        f.add_done_callback([held = std::move(alive)](const weft::Future<int>&) { ++*held; });
        CHECK_FALSE(watch.expired());
    }
    CHECK(watch.expired());  // no cycle between the state and the callback's handle
}

TEST_CASE("Future done callbacks: set on a plain thread while tasks add callbacks, each runs exactly once",
          "[sync][future][callbacks][stress]") {
    constexpr int kFutures = 200;
    constexpr int kAdders = 8;
    struct Shared {
        std::vector<weft::Future<int>> futures = std::vector<weft::Future<int>>(kFutures);  // 200 distinct ones
        std::atomic<int> calls{0};
        weft::Event all_called;
    };
    auto shared = std::make_shared<Shared>();
    // Sets every future while the tasks below add their callbacks: a callback is either taken
    // by set_result (and runs on this thread) or added after (and scheduled on a worker).
    std::thread setter([shared] {
        for (auto& f : shared->futures) f.set_result(1);
    });
    weft::run(
        [](std::shared_ptr<Shared> shared) -> weft::Task<void> {
            std::vector<weft::JoinHandle<void>> adders;
            for (int k = 0; k < kAdders; ++k) {
                adders.push_back(weft::spawn([](std::shared_ptr<Shared> shared) -> weft::Task<void> {
                    for (auto& f : shared->futures) {
                        f.add_done_callback([shared](const weft::Future<int>& done) {
                            const int before = shared->calls.fetch_add(done.result());
                            if (before + 1 == kFutures * kAdders) shared->all_called.set();
                        });
                        co_await weft::yield_now();
                    }
                }(shared)));
            }
            for (auto& a : adders) co_await a;
            co_await shared->all_called.wait();
        }(shared),
        weft::RuntimeOptions{.workers = 4});
    setter.join();
    CHECK(shared->calls.load() == kFutures * kAdders);
}
