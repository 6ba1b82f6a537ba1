// Awaiting POSIX signals (asyncio's loop.add_signal_handler, tokio::signal).
//
//   int sig = co_await weft::signal({SIGINT, SIGTERM});    // the next one that arrives
//
//   weft::SignalListener signals({SIGINT, SIGTERM});       // catching starts here, so
//   start_servers();                                       // none is missed meanwhile
//   int sig = co_await signals.recv();                     // queued ones first
//
// How: while a listener exists for a signal, weft's process-wide handler (sigaction,
// SA_RESTART) records it and pokes each interested listener's eventfd, which a task awaits
// like any socket. Any thread may take the signal, so unlike signalfd nothing has to be
// blocked in every thread (main, the workers, threads you did not create). When the last
// listener of a signal goes away, the disposition in force before it comes back (by default:
// SIGINT/SIGTERM terminate the process again). A signal arriving while only listeners
// that are not awaiting exist is queued in each, at most once per signal number.
// Limits: signals 1..64, at most 64 listeners at once; SIGKILL/SIGSTOP cannot be caught.
// A listener must outlive any recv() awaiting it (cancel and await that task first).
// To handle a signal repeatedly (reload on SIGHUP), keep one SignalListener for the whole
// loop and await recv() on it; a weft::signal() per iteration leaves gaps with no listener,
// in which a signal gets its default disposition (SIGHUP, SIGINT, SIGTERM: the process dies),
// and a signal sent just before the last listener goes away may still be delivered after it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include <weft/net/pipe.hpp>
#include <weft/task.hpp>

namespace weft {

class SignalListener {
public:
    explicit SignalListener(std::initializer_list<int> signals) : SignalListener(std::vector<int>(signals)) {}
    explicit SignalListener(const std::vector<int>& signals);
    ~SignalListener();
    SignalListener(const SignalListener&) = delete;
    SignalListener& operator=(const SignalListener&) = delete;

    /// The next signal caught since construction (the lowest number first when several
    /// are queued). A cancellation point; resumes on a worker loop, never in the handler.
    Task<int> recv();

private:
    int slot_ = -1;
    std::uint64_t mask_ = 0;
    net::PipeReader wakeups_;  // the slot's eventfd
};

/// One-shot: waits for the next of `signals` and returns its number.
Task<int> signal(std::vector<int> signals);

}  // namespace weft
