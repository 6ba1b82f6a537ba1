// weft's exception types. Everything weft throws derives from weft::Error.
//
//   try { co_await handle; }
//   catch (const weft::UsageError& e) { spdlog::error("{}", e.what()); }
#pragma once

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
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

/// An operation that the object's state does not allow (asyncio.InvalidStateError): a
/// Future's result set twice, or read before it is done.
///
///   weft::Future<int> f;
///   f.set_result(1);
///   f.set_result(2);   // throws weft::InvalidStateError
class InvalidStateError : public Error {
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
///
/// `handle.cancel("shutting down")` (or TaskRef::cancel) gives it a message: message() and
/// what() return it (asyncio's `CancelledError(msg)`); without one message() is empty.
class CancelledError {
public:
    CancelledError() noexcept = default;
    explicit CancelledError(std::string message) : message_(std::make_shared<const std::string>(std::move(message))) {}
    const char* what() const noexcept {
        return message_ ? message_->c_str() : "weft::CancelledError: the task was cancelled";
    }
    /// The message given to cancel(msg); empty when none was.
    std::string_view message() const noexcept { return message_ ? std::string_view(*message_) : std::string_view(); }

private:
    std::shared_ptr<const std::string> message_;  // shared: copying an exception must not throw
};

/// A weft deadline passed: what the owner of an expired timeout() scope, and the caller of
/// wait_for(), catch.
///
///   try {
///       auto deadline = weft::timeout(2s);
///       co_await fetch();
///   } catch (const weft::TimeoutError& e) { /* the deadline passed */ }
///
/// A timeout is a cancellation (DESIGN.md "Cancellation"): TimeoutError is also a
/// CancelledError, so cleanup written as `catch (const weft::CancelledError&) { ...; throw; }`
/// runs for a timeout too. It is also a weft::Error (std::exception), as asyncio's
/// TimeoutError is an Exception. scope() names the timeout() scope whose deadline raised it
/// (compare with the scope's address: `e.scope() == &attempt`); nullptr from wait_for().
/// wait_for() does not raise it inside: the awaited work sees a plain CancelledError, and
/// wait_for turns it into TimeoutError on its way out (see timeout.hpp).
class TimeoutError : public Error, public CancelledError {
public:
    explicit TimeoutError(const std::string& what, const void* scope = nullptr) : Error(what), scope_(scope) {}
    explicit TimeoutError(const char* what, const void* scope = nullptr) : Error(what), scope_(scope) {}
    const char* what() const noexcept override { return Error::what(); }
    /// Identity of the timeout() scope that expired (never dereference it: it may be gone).
    const void* scope() const noexcept { return scope_; }

private:
    const void* scope_;
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
