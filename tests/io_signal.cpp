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

namespace {

bool disposition_is_default(int signal) {
    struct sigaction current {};
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
            CHECK(co_await waiter == SIGUSR2);
            // Both raised before anyone awaits: kept, lowest number first.
            ::raise(SIGUSR2);
            ::raise(SIGUSR1);
            CHECK(co_await signals.recv() == SIGUSR1);
            CHECK(co_await signals.recv() == SIGUSR2);
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
        CHECK(co_await idle == SIGHUP);
        auto cancelled = weft::spawn(first.recv());
        cancelled.cancel();
        CHECK_THROWS_AS(co_await cancelled, weft::CancelledError);
        ::raise(SIGUSR1);
        CHECK(co_await first.recv() == SIGUSR1);
        CHECK(co_await second.recv() == SIGUSR1);
    }());
    CHECK(disposition_is_default(SIGHUP));
}

TEST_CASE("io_signal: signals that cannot be caught are refused", "[io][signal]") {
    CHECK_THROWS_AS(weft::SignalListener({SIGKILL}), weft::UsageError);
    CHECK_THROWS_AS(weft::SignalListener({0}), weft::UsageError);
}
