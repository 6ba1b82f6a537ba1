// weft::Shutdown::run: a straggler, a tracked task that goes on after its one cancellation
// (it finishes what it must first), is reported when the grace period ends and then left
// alone: the end of the grace period must not cancel it a second time (run() stops waiting,
// as asyncio.wait(tasks, timeout) does, without touching the tasks).
#include <catch2/catch.hpp>

#include <chrono>
#include <exception>

#include <weft/event.hpp>
#include <weft/run.hpp>
#include <weft/shutdown.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include "support/clock.hpp"

using namespace std::chrono_literals;

namespace {

struct FlushLog {
    int cancellations = 0;  // CancelledErrors the task saw
    bool flushed = false;
};

// Cancelled while it waits for the disk, it still waits for the disk (the flush must
// complete), then stops with the original cancellation.
weft::Task<void> flush(weft::Event& disk_ready, FlushLog& log) {
    std::exception_ptr stop;
    try {
        co_await disk_ready.wait();
    } catch (const weft::CancelledError&) {
        ++log.cancellations;
        stop = std::current_exception();
    }
    if (stop) {
        try {
            co_await disk_ready.wait();
        } catch (const weft::CancelledError&) {
            ++log.cancellations;  // the bug: the grace period's end cancelled it again
            throw;
        }
    }
    log.flushed = true;
    if (stop) std::rethrow_exception(stop);
}

}  // namespace

TEST_CASE("io_shutdown: the end of the grace period does not cancel a straggler again", "[io][shutdown]") {
    weft::run(
        []() -> weft::Task<void> {
            weft::Event disk_ready;
            FlushLog log;
            weft::Shutdown shutdown;
            shutdown.spawn(flush(disk_ready, log), "flush");
            co_await weft::yield_now();  // one worker: the flush starts and waits
            weft::ShutdownReport report = co_await shutdown.run(100ms);  // virtual time
            CHECK(report.cancelled == 1);
            CHECK(report.finished == 0);
            REQUIRE(report.stragglers.size() == 1);
            CHECK(report.stragglers[0].name == "flush");
            disk_ready.set();  // now the straggler can complete its flush
            for (int i = 0; i < 100 && !log.flushed && log.cancellations < 2; ++i) co_await weft::sleep(1ms);
            CHECK(log.cancellations == 1);
            CHECK(log.flushed);
        }(),
        test::paused_clock());
}
