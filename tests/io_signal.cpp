// weft::SignalListener / weft::signal: signals raised in this process reach the awaiting
// task, queued ones come lowest first, and the previous disposition returns afterwards.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/signal.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

#include "support/io.hpp"

namespace {

bool disposition_is_default(int signal) {
    struct sigaction current{};
    ::sigaction(signal, nullptr, &current);
    return current.sa_handler == SIG_DFL;
}

}  // namespace

TEST_CASE("io_signal: a raised signal wakes the awaiting task and queued ones come in order", "[io][signal]") {
    auto workers = GENERATE(1u, 2u);
    weft::run(
        []() -> weft::Task<void> {
            weft::SignalListener signals({SIGUSR1, SIGUSR2});
            // Awaited from another task, raised from this one (kill: any thread may take it).
            auto waiter = weft::spawn(signals.recv());
            ::kill(::getpid(), SIGUSR2);
            auto got1 = co_await waiter;
            CHECK(got1 == SIGUSR2);
            // Both raised before anyone awaits: kept, lowest number first.
            ::raise(SIGUSR2);
            ::raise(SIGUSR1);
            auto got2 = co_await signals.recv();
            CHECK(got2 == SIGUSR1);
            auto got3 = co_await signals.recv();
            CHECK(got3 == SIGUSR2);
        }(),
        {.workers = workers});
    CHECK(disposition_is_default(SIGUSR1));
    CHECK(disposition_is_default(SIGUSR2));
}

TEST_CASE("io_signal: two listeners of one signal each get it and a cancelled recv is clean", "[io][signal]") {
    weft::run([]() -> weft::Task<void> {
        weft::SignalListener first({SIGUSR1});
        weft::SignalListener second({SIGUSR1, SIGHUP});
        auto idle = weft::spawn(second.recv());
        ::raise(SIGHUP);
        auto got4 = co_await idle;
        CHECK(got4 == SIGHUP);
        auto cancelled = weft::spawn(first.recv());
        cancelled.cancel();
        bool threw5 = co_await test::throws<weft::CancelledError>(std::move(cancelled));
        CHECK(threw5);
        ::raise(SIGUSR1);
        auto got6 = co_await first.recv();
        CHECK(got6 == SIGUSR1);
        auto got7 = co_await second.recv();
        CHECK(got7 == SIGUSR1);
    }());
    CHECK(disposition_is_default(SIGHUP));
}

TEST_CASE("io_signal: the one-shot weft::signal returns the next signal", "[io][signal]") {
    weft::run([]() -> weft::Task<void> {
        weft::SignalListener keep({SIGUSR1});  // so that a SIGUSR1 raised too early is caught, not fatal
        auto once = weft::spawn(weft::signal({SIGUSR1, SIGUSR2}));
        // The one-shot listener starts when the task first runs: raise until it has seen one.
        while (!once.is_done()) {
            ::raise(SIGUSR1);
            co_await weft::yield_now();
        }
        int got = co_await once;
        CHECK(got == SIGUSR1);
    }());
}

TEST_CASE("io_signal: signals that cannot be caught are refused", "[io][signal]") {
    CHECK_THROWS_AS(weft::SignalListener({SIGKILL}), weft::UsageError);
    CHECK_THROWS_AS(weft::SignalListener({0}), weft::UsageError);
}
