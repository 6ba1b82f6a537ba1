#include "executor_bridge.hpp"

#include <cxxabi.h>

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <weft/detail/deadline_after.hpp>
#include <weft/error.hpp>

namespace weft::detail {

// --- InflightCalls -----------------------------------------------------------------------

void InflightCalls::add(BridgeCall* call) {
    std::lock_guard lock(mutex_);
    if (closed_) throw RuntimeShutDown("weft: offload/compute on a runtime that is shutting down");
    call->inflight = this;
    call->inflight_prev = nullptr;
    call->inflight_next = head_;
    if (head_) head_->inflight_prev = call;
    head_ = call;
    ++count_;
}

void InflightCalls::remove(BridgeCall* call) noexcept {
    InflightCalls* self = call->inflight;
    if (!self) return;
    bool free_it = false;
    {
        std::lock_guard lock(self->mutex_);
        if (call->inflight_prev) {
            call->inflight_prev->inflight_next = call->inflight_next;
        } else {
            self->head_ = call->inflight_next;
        }
        if (call->inflight_next) call->inflight_next->inflight_prev = call->inflight_prev;
        call->inflight = nullptr;
        if (--self->count_ == 0) {
            self->empty_cv_.notify_all();
            free_it = self->owner_gone_;
        }
    }
    if (free_it) delete self;  // the runtime is gone and this was the last abandoned call
}

void InflightCalls::close() noexcept {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

bool InflightCalls::wait_empty_until(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return empty_cv_.wait_until(lock, deadline, [&] { return count_ == 0; });
}

bool InflightCalls::empty() {
    std::lock_guard lock(mutex_);
    return count_ == 0;
}

void InflightCalls::release_owner() noexcept {
    bool free_it = false;
    {
        std::lock_guard lock(mutex_);
        owner_gone_ = true;
        free_it = count_ == 0;
    }
    if (free_it) delete this;
}

// --- ExecutorBridge ----------------------------------------------------------------------

ExecutorBridge::ExecutorBridge(const RuntimeOptions& options, const std::vector<int>& worker_cpus)
    : runtime_name_(options.name),
      shutdown_timeout_(options.shutdown_timeout),
      inflight_(InflightCalls::create()),
      pool_(options.name, options.max_blocking_threads, options.blocking_keep_alive, worker_cpus),
      arena_(options.compute_threads) {}

ExecutorBridge::~ExecutorBridge() {
    shutdown();
    inflight_->release_owner();
}

void ExecutorBridge::submit(BridgeExecutor executor, BridgeCall* call) {
    inflight_->add(call);
    try {
        if (executor == BridgeExecutor::blocking) {
            pool_.submit(call);
        } else {
            arena_.submit(call);
        }
    } catch (...) {
        InflightCalls::remove(call);
        throw;
    }
}

void ExecutorBridge::cancel_awaiting_tasks() noexcept {
    // Under the list's lock: a call in the list is alive (its executor lets go after leaving it).
    inflight_->for_each([](BridgeCall* call) { call->cancel_for_shutdown(); });
}

void ExecutorBridge::shutdown() noexcept {
    if (shut_down_) return;
    shut_down_ = true;
    using Clock = std::chrono::steady_clock;
    const auto deadline = detail::deadline_after(Clock::now(), shutdown_timeout_);

    // 1-2. Close, abandon what has not started, drop the pool's queue.
    inflight_->close();
    std::size_t dropped = 0;
    inflight_->for_each([&](BridgeCall* call) {
        if (call->abandon_for_shutdown(/*running_too=*/false)) ++dropped;
    });
    for (BridgeCall* call = pool_.close(); call;) {
        BridgeCall* next = call->queue_next;
        call->execute();  // abandoned above, or by its awaiter: skipped, unlinked, released
        call = next;
    }
    if (dropped > 0)
        spdlog::warn("weft: runtime '{}' shutting down: dropped {} offloaded/compute call(s) that had not started",
                     runtime_name_, dropped);

    // 3-4. Wait for the running calls, then abandon the rest.
    if (!inflight_->wait_empty_until(deadline)) {
        const auto now = Clock::now();
        std::size_t abandoned = 0;
        // Under the list's lock: a call cannot finish and be freed while it is logged.
        inflight_->for_each([&](BridgeCall* call) {
            if (!call->abandon_for_shutdown(/*running_too=*/true)) return;  // its awaiter had already given up
            ++abandoned;
            log_abandoned(call, now);
        });
        if (abandoned > 0)
            spdlog::warn("weft: runtime '{}' abandoned {} offloaded/compute call(s) still running {} ms after "
                         "shutdown began; they finish in the background and their results are dropped",
                         runtime_name_, abandoned, shutdown_timeout_.count());
    }
    pool_.release_threads();
}

void ExecutorBridge::log_abandoned(BridgeCall* call, std::chrono::steady_clock::time_point now) const noexcept {
    try {
        int status = 0;
        const char* mangled = call->callable_type().name();
        std::unique_ptr<char, void (*)(void*)> demangled(abi::__cxa_demangle(mangled, nullptr, nullptr, &status),
                                                         std::free);
        double running_ms = 0;
        if (call->started()) {
            auto started = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(call->started_at_ns()));
            running_ms = std::chrono::duration<double, std::milli>(now - started).count();
        }
        const TaskHeader* task = call->task();  // alive: woken just now, abandoned later
        const std::string_view name = task->name_view();
        std::string task_name = name.empty() ? std::string() : " '" + std::string(name) + "'";
        spdlog::warn("weft: shutdown abandoned {} of {} for task {}{} (running {:.0f} ms)", call->what(),
                     status == 0 && demangled ? demangled.get() : mangled, task->id(), task_name, running_ms);
    } catch (...) {
        // logging must not fail shutdown
    }
}

}  // namespace weft::detail
