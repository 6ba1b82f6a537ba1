// weft's exception types. Everything weft throws derives from weft::Error.
//
//   try { co_await handle; }
//   catch (const weft::UsageError& e) { spdlog::error("{}", e.what()); }
#pragma once

#include <stdexcept>
#include <string>

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

/// The task could not finish because its runtime shut down first.
class RuntimeShutDown : public Error {
public:
    using Error::Error;
};

}  // namespace weft
