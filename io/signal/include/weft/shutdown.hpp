// weft::Shutdown: graceful shutdown for a server (seed: GracefulShutdown).
//
//   weft::Shutdown shutdown;
//   shutdown.spawn(server.serve(handler, {.shutdown = &shutdown}), "server");  // tracked tasks
//   co_await weft::signal({SIGINT, SIGTERM});
//   weft::ShutdownReport report = co_await shutdown.run(5s);
//   return report.clean() ? 0 : 1;
//
// run(): from then on requested() is true and newly spawned tracked tasks are cancelled
// before they start; every tracked task is cancelled (CancelledError at its current or
// next await: RAII and catch blocks run their cleanup there); then run() waits for them
// until the grace period ends, and logs each task still running then (a straggler:
// it shielded itself, or computes without awaiting) with spdlog, by id and name.
// Acceptors tracked here stop accepting when cancelled, so "stop accepting" comes first
// for free. Tasks that finish on their own leave the registry, so it holds only live ones.
// Failures of tracked tasks (other than cancellation) are logged, as for detached tasks.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <weft/join_handle.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

namespace weft {

struct ShutdownReport {
    struct Straggler {
        std::uint64_t id;
        std::string name;
    };
    std::size_t cancelled = 0;  // tracked tasks running when run() began
    std::size_t finished = 0;   // of those, how many ended within the grace period
    std::vector<Straggler> stragglers;
    bool clean() const noexcept { return stragglers.empty(); }
};

namespace detail {

class ShutdownState {
public:
    std::mutex mutex;
    bool requested = false;
    std::uint64_t next_key = 0;
    std::unordered_map<std::uint64_t, JoinHandle<void>> live;

    void leave(std::uint64_t key) {
        JoinHandle<void> handle;  // released outside the lock
        std::lock_guard lock(mutex);
        if (auto it = live.find(key); it != live.end()) {
            handle = std::move(it->second);
            live.erase(it);
        }
    }
};

template <class T>
Task<void> shutdown_tracked(Task<T> task, std::shared_ptr<ShutdownState> state, std::uint64_t key) {
    std::exception_ptr failure;
    try {
        co_await std::move(task);
    } catch (...) {
        failure = std::current_exception();
    }
    state->leave(key);
    if (failure) std::rethrow_exception(failure);
}

}  // namespace detail

class Shutdown {
public:
    Shutdown() : state_(std::make_shared<detail::ShutdownState>()) {}
    /// Tasks still tracked run on, untracked (their handles are dropped, as by detach()).
    ~Shutdown();
    Shutdown(const Shutdown&) = delete;
    Shutdown& operator=(const Shutdown&) = delete;

    /// Spawns `task` as a tracked task (like weft::spawn(...).detach()).
    template <class T>
    void spawn(Task<T> task, std::string_view name = {}) {
        JoinHandle<void> handle;  // released outside the lock
        std::lock_guard lock(state_->mutex);
        std::uint64_t key = state_->next_key++;
        handle = weft::spawn(detail::shutdown_tracked(std::move(task), state_, key), name);
        if (state_->requested) {
            handle.cancel();  // never starts; its frame (and what it owns) is freed with the handle
            return;
        }
        state_->live.emplace(key, std::move(handle));
    }

    bool requested() const;
    /// Tracked tasks still running.
    std::size_t active() const;

    /// Cancels every tracked task and waits up to `grace` for them (see above). Once.
    Task<ShutdownReport> run(std::chrono::milliseconds grace);

private:
    std::shared_ptr<detail::ShutdownState> state_;
};

}  // namespace weft
