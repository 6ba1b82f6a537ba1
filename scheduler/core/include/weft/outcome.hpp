// weft::Outcome<T>: a task's value or its exception, for gather(return_exceptions, ...).
//
//   auto [a, b] = co_await weft::gather(weft::return_exceptions, fetch(x), fetch(y));
//   if (a.has_value()) use(a.value());
//   else spdlog::warn("x failed");        // a.exception() holds what it threw
#pragma once

#include <exception>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

namespace weft {

// A task's result type as it appears in tuples: void becomes std::monostate.
template <class T>
using result_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
class Outcome {
public:
    using value_type = result_t<T>;

    static Outcome from_value(value_type value) { return Outcome(std::move(value)); }
    static Outcome from_exception(std::exception_ptr error) { return Outcome(std::move(error)); }

    bool has_value() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    std::exception_ptr exception() const noexcept { return error_; }

    /// The value; rethrows the task's exception if it failed.
    value_type& value() & {
        if (error_) std::rethrow_exception(error_);
        return *value_;
    }
    value_type&& value() && {
        if (error_) std::rethrow_exception(error_);
        return std::move(*value_);
    }

private:
    explicit Outcome(value_type value) : value_(std::move(value)) {}
    explicit Outcome(std::exception_ptr error) : error_(std::move(error)) {}

    std::optional<value_type> value_;
    std::exception_ptr error_;
};

}  // namespace weft
