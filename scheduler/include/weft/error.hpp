// weft's exception types. Everything weft throws derives from weft::Error.
//
//   try { co_await handle; }
//   catch (const weft::UsageError& e) { spdlog::error("{}", e.what()); }
#pragma once

#include <stdexcept>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace weft {

/// Base of every exception weft throws.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The API was called in a way that can never work: spawn() outside a runtime,
/// yield_now() outside a task, a JoinHandle awaited twice, block_on() on its own worker.
class UsageError : public Error {
public:
    using Error::Error;
};

/// A weft deadline passed: thrown by wait_for() and inside a timeout() scope.
class TimeoutError : public Error {
public:
    using Error::Error;
};

/// Delivered to a cancelled task at its current or next suspension point.
///
///   try { co_await weft::sleep(10s); }
///   catch (const weft::CancelledError&) { cleanup(); throw; }   // rethrow, always
///
/// Like asyncio's CancelledError (a BaseException), it deliberately does NOT derive
/// from std::exception, so `catch (const std::exception&)` cannot swallow it. A task
/// that catches it and carries on has refused the cancellation: it completes normally
/// and cancelled() is false (asyncio's uncancel semantics).
class CancelledError {
public:
    const char* what() const noexcept { return "weft::CancelledError: the task was cancelled"; }
};

/// Every failure of a TaskGroup's members (asyncio 3.11's ExceptionGroup). Cancellations
/// are not included.
///
///   try { co_await weft::TaskGroup::run(body); }
///   catch (const weft::ExceptionGroup& group) {
///       for (auto& e : group.exceptions()) log(e);
///   }
class ExceptionGroup : public Error {
public:
    explicit ExceptionGroup(std::vector<std::exception_ptr> exceptions)
        : Error(describe(exceptions)), exceptions_(std::move(exceptions)) {}
    const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

private:
    static std::string describe(const std::vector<std::exception_ptr>& exceptions) {
        std::string text = "weft::ExceptionGroup: " + std::to_string(exceptions.size()) + " task(s) failed";
        for (const auto& error : exceptions) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                text += "; ";
                text += e.what();
            } catch (...) {
                text += "; (non-std exception)";
            }
        }
        return text;
    }
    std::vector<std::exception_ptr> exceptions_;
};

/// The task could not finish because its runtime shut down first.
class RuntimeShutDown : public Error {
public:
    using Error::Error;
};

}  // namespace weft
