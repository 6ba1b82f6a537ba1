// A timer armed on a worker's wheel: a sleep (wakes a task) or a timeout scope
// (delivers TimeoutError to a task).
//
// Ownership is settled by one CAS on `state` (DESIGN.md "one schedule per wake-up"):
//   armed --wheel--> firing --(wake/cancel done)--> fired : the awaiter/scope frees it
//   armed --awaiter/scope--> cancelled                  : its owner worker unlinks and
//                                                          frees it: at once when that is the
//                                                          caller, else at its next timer check
//                                                          (Worker::disarm_remote)
// A loser that sees `firing` waits for `fired`, so the wheel never touches a task that
// has already moved on.
// Runtime shutdown (draining): the owner holds an armed entry `poking` while it cancels the
// entry's task through it, then puts it back to `armed`; an awaiter/scope waits that out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/task_header.hpp>

#include "timer_wheel.hpp"

namespace weft::detail {

class Worker;

struct TimerEntry : TimerNode {
    enum : std::uint8_t { kArmed, kFiring, kFired, kCancelled, kPoking };
    enum class Kind : std::uint8_t { sleep, timeout };

    Atomic<std::uint8_t> state{kArmed};
    Kind kind = Kind::sleep;
    Waker waker;
    Worker* owner = nullptr;
    TimerEntry* remote_next = nullptr;  // in the owner's list of entries cancelled elsewhere

    static TimerEntry* create(Kind kind, Waker waker, Worker* owner);
    static void destroy(TimerEntry* entry) noexcept;
};

void fire_timer(TimerEntry* entry) noexcept;  // the wheel reached its deadline
// Runtime draining, on the owner with the entry taken off its wheel: cancels its task (a
// sleeper, or one in a timeout scope). True: put it back on the wheel; false: it had been
// cancelled by its task elsewhere, and is freed.
bool shutdown_cancel_through(TimerEntry* entry) noexcept;
// Runtime stopped: a sleeper is abandoned (and named in `stragglers`).
void drop_timer(TimerEntry* entry, std::vector<std::string>& stragglers) noexcept;

}  // namespace weft::detail
