#include <weft/shutdown.hpp>

#include <spdlog/spdlog.h>

#include <weft/detail/deadline_after.hpp>
#include <weft/error.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>

namespace weft {

namespace {
void log_failure(std::exception_ptr error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {  // first: a TimeoutError is a CancelledError too
        spdlog::error("weft::Shutdown: a tracked task failed while shutting down: {}", e.what());
    } catch (const CancelledError&) {
    } catch (...) {
        spdlog::error("weft::Shutdown: a tracked task failed with a non-std exception while shutting down");
    }
}
}  // namespace

Shutdown::~Shutdown() {
    // The registry's handles keep the tasks' frames, which keep the registry: break the cycle.
    std::unordered_map<std::uint64_t, JoinHandle<void>> live;
    std::lock_guard lock(state_->mutex);
    live.swap(state_->live);
}

bool Shutdown::requested() const {
    std::lock_guard lock(state_->mutex);
    return state_->requested;
}

std::size_t Shutdown::active() const {
    std::lock_guard lock(state_->mutex);
    return state_->live.size();
}

Task<ShutdownReport> Shutdown::run(std::chrono::milliseconds grace) {
    std::vector<JoinHandle<void>> tasks;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->requested) throw UsageError("weft::Shutdown::run called twice");
        state_->requested = true;
        tasks.reserve(state_->live.size());
        for (auto& [key, handle] : state_->live) tasks.push_back(std::move(handle));
        state_->live.clear();
    }
    for (auto& task : tasks) task.cancel();

    ShutdownReport report;
    report.cancelled = tasks.size();
    Clock::time_point deadline = weft::detail::deadline_after(now(), grace);
    {
        auto scope = timeout_at(deadline);
        for (auto& task : tasks) {
            try {
                // Takes it: valid() afterwards means the join was interrupted. Not propagating:
                // at the deadline run() stops waiting, but a straggler was cancelled once
                // already and must not be cancelled again (asyncio.wait's timeout).
                co_await JoinHandle<void>::BasicAwaiter</*Propagate=*/false, /*Consume=*/true>(task);
            } catch (...) {
                // Still valid: the join itself was interrupted (our deadline, or run() was
                // cancelled): stop waiting. Otherwise it is the task's own outcome.
                if (task.valid()) {
                    if (!scope.expired()) throw;
                    break;
                }
                log_failure(std::current_exception());
            }
        }
    }
    for (auto& task : tasks) {
        if (!task.valid() || task.is_done()) {
            ++report.finished;
            continue;
        }
        report.stragglers.push_back({task.id(), std::string(task.name())});
        spdlog::warn("weft::Shutdown: task {} '{}' still running {} ms after it was cancelled", task.id(), task.name(),
                     grace.count());
    }
    co_return report;
}

}  // namespace weft
