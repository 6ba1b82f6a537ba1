// detail::RequestParser: the server's request parsing (llhttp in request mode), with no I/O,
// so that the connection loop, the fuzz target and the tests all run the same code.
//
//   RequestParser parser({.max_header_bytes = 16384, .max_headers = 100});
//   Request req;
//   auto r = parser.parse_head(data, size, req);     // need_more / head / error
//   if (r.kind == ParseResult::head) { begin += r.consumed; ... }
//   // then, while !parser.message_done():
//   auto b = parser.parse_body(data + begin, size - begin, pieces);   // pieces: views
//
// A head is parsed only once it is whole in the buffer: the parser first scans for the blank
// line ending it (resuming where the last scan stopped, so a head arriving byte by byte costs
// linear time), then runs llhttp over it in one go, so each field arrives as a single view.
// llhttp pauses at the end of the head and at the end of each message, so bytes of the next
// pipelined request are never consumed with the current one.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include <weft/http/request.hpp>

namespace weft::http::detail {

struct ParserLimits {
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_headers = 100;
};

struct ParseResult {
    enum Kind { need_more, head, body, error };
    Kind kind = need_more;
    std::size_t consumed = 0;  // bytes of the input used (head: the head's size)
    int status = 0;            // error: the status to answer (400, 431, 501, 505)
    const char* reason = "";   // error: why (llhttp's reason, or ours)
};

class RequestParser {
public:
    explicit RequestParser(ParserLimits limits);
    RequestParser(const RequestParser&) = delete;
    RequestParser& operator=(const RequestParser&) = delete;

    /// Parses the head at the start of [data, data+size) into `request` (whose fields then
    /// view that buffer). need_more: no whole head yet; consumed may be > 0 (blank lines
    /// before a request, to drop). Call again with the same start and more bytes.
    ParseResult parse_head(const char* data, std::size_t size, Request& request);

    /// After a head: consumes body bytes of [data, data+size), appending the decoded pieces
    /// (views into the input) to `pieces`, and stops at the end of the message. kind is body
    /// (consumed says how much; message_done() tells whether it ended) or error (400).
    ParseResult parse_body(const char* data, std::size_t size, std::vector<std::string_view>& pieces);

    /// True when the current message (head and body) is complete.
    bool message_done() const noexcept { return message_done_; }
    /// After an upgrade or CONNECT head, or an error: the stream cannot be parsed further.
    bool stopped() const noexcept { return stopped_; }

private:
    llhttp_errno_t execute_head(const char* data, std::size_t head_end, int newer_minor);
    static int on_method(llhttp_t*, const char*, std::size_t);
    static int on_url(llhttp_t*, const char*, std::size_t);
    static int on_header_field(llhttp_t*, const char*, std::size_t);
    static int on_header_value(llhttp_t*, const char*, std::size_t);
    static int on_headers_complete(llhttp_t*);
    static int on_body(llhttp_t*, const char*, std::size_t);
    static int on_message_complete(llhttp_t*);
    static int on_chunk_complete(llhttp_t*);
    static int on_chunk_extension(llhttp_t*, const char*, std::size_t);
    static const llhttp_settings_t settings_;
    // The head's own rules, past what llhttp checks (RFC 9112): 0, or the status to answer.
    int check_head(Request& req) noexcept;

    llhttp_t parser_;
    ParserLimits limits_;
    std::size_t scanned_ = 0;  // head terminator scan: bytes already looked at
    Request* request_ = nullptr;
    std::vector<std::string_view>* pieces_ = nullptr;
    bool head_done_ = false;
    bool message_done_ = true;
    bool stopped_ = false;
    bool too_many_headers_ = false;
    bool in_value_ = false;
    bool chunk_done_ = false;  // paused after a chunk: its data must have ended with CRLF
    std::size_t trailer_fields_ = 0;
    std::size_t extension_bytes_ = 0;
    int head_status_ = 0;      // check_head's refusal
    const char* head_reason_ = "";
    char last_two_[2] = {0, 0};  // the last two body bytes parse_body was given (a CRLF may straddle reads)
};

/// The fuzz target's body (fuzz/http_request_fuzzer.cpp and the corpus test): runs `data`
/// through the parser as the server does, split into reads of 1, 7 and all bytes, and checks
/// the parser's invariants (views inside the input, consumed within bounds), aborting if one
/// breaks. Returns the number of complete requests parsed in the whole-input pass.
std::size_t fuzz_request_parser(const std::uint8_t* data, std::size_t size);

}  // namespace weft::http::detail
