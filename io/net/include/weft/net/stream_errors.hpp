// The errors StreamReader raises when a stream does not deliver what was asked for
// (asyncio.IncompleteReadError and asyncio.LimitOverrunError).
//
//   try {
//       std::string head = co_await reader.read_until("\r\n\r\n");
//   } catch (const weft::IncompleteReadError& e) {   // the peer closed first
//       log("truncated request: {} bytes", e.partial().size());
//   } catch (const weft::LimitOverrun& e) {          // no separator within the limit
//       co_await writer.... ("431 Request Header Fields Too Large");
//   }
//
// IncompleteReadError is an UnexpectedEof (so an IoError): code that already catches the
// end of a read_exact() catches it too. LimitOverrun is an IoError with code() EMSGSIZE.
#pragma once

#include <cerrno>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include <weft/io_error.hpp>

namespace weft {

/// The stream ended before read_exactly() had its bytes or read_until() its separator.
/// partial() holds the bytes that did arrive (they are no longer in the reader);
/// expected() is the size asked for (nullopt for read_until).
class IncompleteReadError : public UnexpectedEof {
public:
    IncompleteReadError(const std::string& context, std::string partial, std::optional<std::size_t> expected)
        : UnexpectedEof(describe(context, partial.size(), expected)),
          partial_(std::move(partial)),
          expected_(expected) {}
    const std::string& partial() const noexcept { return partial_; }
    std::optional<std::size_t> expected() const noexcept { return expected_; }

private:
    static std::string describe(const std::string& context, std::size_t got, std::optional<std::size_t> expected) {
        return context + ": the stream ended after " + std::to_string(got) + " bytes" +
               (expected ? " of " + std::to_string(*expected) : std::string(" without the separator"));
    }
    std::string partial_;
    std::optional<std::size_t> expected_;
};

/// read_until() / read_line() found no separator within the reader's limit. Nothing was
/// consumed: the bytes are still buffered and the next read returns them. consumed() is
/// asyncio's LimitOverrunError.consumed: the separator's index if it came past the limit,
/// else how many buffered bytes cannot start one; reader.consume(e.consumed()) skips them.
class LimitOverrun : public IoError {
public:
    LimitOverrun(const std::string& context, std::size_t consumed, std::size_t limit)
        : IoError(EMSGSIZE, io_errc::other,
                  context + ": no separator within the limit of " + std::to_string(limit) + " bytes (" +
                      std::to_string(consumed) + " bytes before it)"),
          consumed_(consumed) {}
    std::size_t consumed() const noexcept { return consumed_; }

private:
    std::size_t consumed_;
};

}  // namespace weft
