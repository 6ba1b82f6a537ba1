// The bits of a task's state word (TaskHeader::state) and of its cancel_bits. The state
// diagram is in task_header.hpp; the only code that writes the word is the named
// transitions in task_transitions.hpp.
#pragma once

#include <cstdint>

namespace weft::detail {

namespace task_state {
inline constexpr std::uint64_t kIdle = 0;
inline constexpr std::uint64_t kScheduled = 1u << 0;  // sits in exactly one run queue
inline constexpr std::uint64_t kRunning = 1u << 1;    // a worker is resuming it (must be kScheduled << 1)
inline constexpr std::uint64_t kNotified = 1u << 2;   // woken while running: re-queue after
inline constexpr std::uint64_t kComplete = 1u << 3;   // finished or abandoned; never runs again
inline constexpr std::uint64_t kWaitCancellable = 1u << 6;   // idle in a wait that cancellation may end
// A cancellation was requested while the task was scheduled or running: its worker sees
// this in the suspend CAS and re-queues the task if that suspension is cancellable. (The
// worker must not read anything of the task after that CAS: the task may be gone.)
inline constexpr std::uint64_t kCancelPoke = 1u << 7;
// The runtime's shutdown has cancelled this task (once), or the task was spawned while the
// runtime drained, so it is not cancelled (runtime_core.cpp, shutdown protocol).
inline constexpr std::uint64_t kShutdownCancelled = 1u << 8;
// In TaskHeader::cancel_bits (what to deliver; the state word only says "look"):
inline constexpr std::uint32_t kCancelRequested = 1u << 4;   // cancel(): deliver CancelledError
inline constexpr std::uint32_t kTimeoutRequested = 1u << 5;  // a timeout scope expired
inline constexpr std::uint32_t kCancelBits = kCancelRequested | kTimeoutRequested;
// Set by the worker that completes the task, in the same RMW that reads the bits: a cancel()
// ordered before it makes the task end cancelled, one after it returns false.
inline constexpr std::uint32_t kOutcomeDecided = 1u << 31;
// A done callback was added (done_callbacks.cpp): the completer, reading this in the RMW that
// sets kOutcomeDecided, runs the callbacks; a task with it is never joined inline.
inline constexpr std::uint32_t kDoneCallbacks = 1u << 30;
inline constexpr std::uint64_t kEpochOne = std::uint64_t{1} << 32;
inline constexpr std::uint32_t epoch_of(std::uint64_t state) noexcept {
    return static_cast<std::uint32_t>(state >> 32);
}
}  // namespace task_state

}  // namespace weft::detail
