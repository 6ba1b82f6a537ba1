// Percent-encoding (RFC 3986 section 2.1): what a URL's path and query carry for bytes that
// may not appear in them as they are.
//
//   weft::http::percent_decode("john%20doe");                     // "john doe"
//   weft::http::percent_decode("a+b", weft::http::PlusIsSpace::yes);  // "a b" (a query's form)
//   auto url = "http://h/search?q=" + weft::http::percent_encode("C++ & co");  // q=C%2B%2B%20%26%20co
//
// Decoding is lenient, as aiohttp's (yarl's) is: a '%' not followed by two hex digits is kept
// as it came. The result is bytes (often UTF-8), not checked for validity.
#pragma once

#include <string>
#include <string_view>

namespace weft::http {

/// Whether '+' decodes to a space: yes in a query string (HTML forms), no in a path.
enum class PlusIsSpace : bool { no, yes };

/// `text` with each %XX (hex, either case) replaced by its byte.
std::string percent_decode(std::string_view text, PlusIsSpace plus = PlusIsSpace::no);

/// Appends percent_decode(text, plus) to `out`; returns the number of bytes appended (never
/// more than text.size(), so a buffer reserved for the input never reallocates).
std::size_t percent_decode_into(std::string_view text, std::string& out, PlusIsSpace plus = PlusIsSpace::no);

/// Whether `encoded`, decoded (no '+' rule), equals `decoded`: compares without allocating.
bool percent_decoded_equals(std::string_view encoded, std::string_view decoded) noexcept;

/// `bytes` with every byte other than RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~) as
/// %XX (upper-case hex): safe as a path segment, a query name or a query value.
std::string percent_encode(std::string_view bytes);

}  // namespace weft::http
