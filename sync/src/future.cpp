// Future's shared state (see the protocol in future.hpp).
#include <weft/future.hpp>

#include <spdlog/spdlog.h>

#include <weft/call_soon.hpp>
#include <weft/detail/context.hpp>

namespace weft::detail {

void FutureCore::claim(const char* what) {
    State expected = kPending;
    if (!state_.compare_exchange_strong(expected, kSetting, memory_order_acquire, memory_order_relaxed))
        throw InvalidStateError(std::string(what) + ": the future is already done" +
                                (expected == kCancelled ? " (cancelled)" : ""));
}

void FutureCore::publish(State final) noexcept {
    std::vector<DoneCallback> callbacks;
    {
        SpinGuard locked(guard_);
        // seq_cst: pairs with wait_blocking's increment of blocking_ and load of state_.
        state_.store(final, memory_order_seq_cst);
        while (WaiterNode* node = waiters_.pop_front()) wake_waiter(node, 1);
        callbacks.swap(done_callbacks_);
    }
    if (blocking_.load(memory_order_seq_cst) != 0) state_.notify_all();
    for (const DoneCallback& callback : callbacks) dispatch(callback);
}

void FutureCore::add_done_callback(DoneCallback callback) {
    if (!callback) throw UsageError("weft::Future::add_done_callback: the callback is empty");
    {
        SpinGuard locked(guard_);
        if (state_.load(memory_order_relaxed) < kResult) {  // publish() will take it
            done_callbacks_.push_back(std::move(callback));
            return;
        }
    }
    dispatch(callback);
}

// Never throws (publish() is noexcept): a failure to schedule or a callback's exception is
// logged. A callback runs after the state is published, so it may read the future.
void FutureCore::dispatch(const DoneCallback& callback) {
    try {
        std::function<void()> call = callback(*this);
        if (tls_context.task) {
            weft::call_soon(std::move(call));  // the runner logs what the call throws
            return;
        }
        try {
            call();
        } catch (const std::exception& e) {
            spdlog::error("weft::Future done callback threw: {}", e.what());
        } catch (...) {
            spdlog::error("weft::Future done callback threw a non-std exception");
        }
    } catch (const std::exception& e) {
        spdlog::error("weft::Future done callback could not be scheduled: {}", e.what());
    } catch (...) {
        spdlog::error("weft::Future done callback could not be scheduled");
    }
}

void FutureCore::set_exception(std::exception_ptr error) {
    if (!error) throw UsageError("weft::Future::set_exception: a null exception_ptr");
    claim("weft::Future::set_exception");
    error_ = std::move(error);
    publish(kException);
}

bool FutureCore::cancel() noexcept {
    State expected = kPending;
    if (!state_.compare_exchange_strong(expected, kSetting, memory_order_acquire, memory_order_relaxed)) return false;
    publish(kCancelled);
    return true;
}

void FutureCore::check_result(const char* what) const {
    switch (state()) {
        case kResult:
            return;
        case kException:
            std::rethrow_exception(error_);
        case kCancelled:
            throw CancelledError();
        default:
            throw InvalidStateError(std::string(what) + ": the future is not done yet");
    }
}

std::exception_ptr FutureCore::exception() const {
    switch (state()) {
        case kResult:
            return nullptr;
        case kException:
            return error_;
        case kCancelled:
            throw CancelledError();
        default:
            throw InvalidStateError("weft::Future::exception(): the future is not done yet");
    }
}

void FutureCore::throw_taken() {
    throw InvalidStateError("weft::Future: the move-only result was already taken by co_await std::move(future)");
}

void FutureCore::wait_blocking() const {
    if (tls_context.task)
        throw UsageError("weft::Future::wait_blocking() inside a weft task would block a worker: co_await the future");
    blocking_.fetch_add(1, memory_order_seq_cst);
    for (State s = state_.load(memory_order_seq_cst); s < kResult; s = state_.load(memory_order_seq_cst))
        state_.wait(s, memory_order_seq_cst);
    blocking_.fetch_sub(1, memory_order_relaxed);
}

bool FutureCore::enqueue_unless_done(WaiterNode& node) noexcept {
    SpinGuard locked(guard_);
    if (state_.load(memory_order_relaxed) >= kResult) {
        complete_now(node, 1);
        return false;
    }
    enqueue(waiters_, node);
    return true;
}

}  // namespace weft::detail
