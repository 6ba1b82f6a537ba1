// The epoll driver's side of the operation contract (io_driver.hpp, "How a driver plugs
// in"): how an Op of io/net (ops.hpp: attempt(), finish(), asked()) completes on a
// readiness driver. io/net calls these three and nothing else of the driver:
//   try_now(source, op)                 the fast path: no registration, no allocation
//   complete(registrar, op, yield_first) the slow path: a Task that waits for readiness
//   ready(source, interest)             wait for readiness alone (accept's turn-taking)
//
// The readiness pattern (io_source.hpp): snapshot readiness, attempt the syscall, and on
// EAGAIN clear the snapshot's edge bit (a no-op if an event came meanwhile), then wait. A
// stream that transferred less than asked is drained (or full) for now, so its readiness is
// cleared the same way without the EAGAIN syscall (as Tokio does); clear_ready() never
// clears the sticky peer-closed and hang-up bits, so a FIN is never forgotten.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstdint>
#include <optional>
#include <utility>

#include <weft/detail/io_source.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>

namespace weft::detail {

// Completes `op` now if that needs no waiting; nullopt if it would block. `source` may be
// null (nothing has waited on the fd yet): then readiness is not tracked.
template <class Op>
std::optional<typename Op::value_type> try_now(IoSource* source, Op& op) {
    constexpr Interest interest = Op::interest;
    for (;;) {
        // Known drained (or full) and no event since: the syscall would fail with EAGAIN.
        if (source && !IoSource::is_ready(source->readiness(), interest)) return std::nullopt;
        std::uint64_t seen = source ? source->readiness() : 0;
        ssize_t result = op.attempt();
        if (result == -EAGAIN) {
            if (source) source->clear_ready(seen, interest);
            return std::nullopt;
        }
        if (source && result > 0 && static_cast<std::size_t>(result) < op.asked()) source->clear_ready(seen, interest);
        if (auto value = op.finish(result)) return value;
    }
}

// Resumes once the fd may be ready for `interest`. A cancellation point.
inline IoSource::ReadyAwaiter ready(IoSource& source, Interest interest) noexcept { return source.ready(interest); }

// The slow path: completes `op`, waiting for readiness as often as needed (each wait a
// cancellation point). `registrar` is the fd's owner (weft::net's Descriptor):
// registered() (the source or null), source() (registering it now if needed) and
// require_open() (UsageError once closed). With `yield_first` (the loop's I/O budget is
// spent), it yields to the loop before its first attempt.
template <class Op, class Registrar>
Task<typename Op::value_type> complete(Registrar& registrar, Op op, bool yield_first) {
    if (yield_first) {
        co_await weft::yield_now();
        registrar.require_open();
        if (auto value = try_now(registrar.registered(), op)) co_return std::move(*value);
    }
    IoSource* source = registrar.source();
    for (;;) {
        co_await source->ready(Op::interest);
        if (auto value = try_now(source, op)) co_return std::move(*value);
    }
}

}  // namespace weft::detail
