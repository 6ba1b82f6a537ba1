// The client's response parser: llhttp in response mode, driven by the bytes the connection
// reads (private to weft_http: llhttp.h stays out of the public headers).
//
//   ResponseParser parser;
//   parser.start(/*head_request=*/false, &headers, &reason);
//   const char* error = parser.feed(buffer, n);   // nullptr, or llhttp's reason
//   if (parser.head_complete()) ... parser.status() ...
//   for (auto [data, size] : parser.body()) ...   // spans into `buffer`; clear_body() after
//   if (parser.message_complete()) ... parser.keep_alive() && !parser.leftover() ...
//   error = parser.finish();                      // at end of stream
//
// Body bytes are not copied: body() holds spans into the fed buffer, valid until the caller
// reuses that buffer (it feeds the next read only once the spans are consumed). Parsing stops
// at the end of the message; bytes after it (a server that sent more than one response) make
// leftover() true and the connection is not reused. 1xx responses (but 101) are skipped.
// A head whose lines end in a bare LF is read as if they ended in CRLF (RFC 9112 section 2.2).
// The responses to HEAD, 1xx, 204 and 304 have no body whatever their Content-Length or
// Transfer-Encoding say (RFC 9112 section 6.3); after a 101 the connection is not reused.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <string>
#include <vector>

#include <weft/http/headers.hpp>

namespace weft::http::detail {

class ResponseParser {
public:
    struct Span {
        const char* data;
        std::size_t size;
    };
    static constexpr std::size_t kMaxHead = 64 * 1024;

    ResponseParser() noexcept;
    ResponseParser(const ResponseParser&) = delete;
    ResponseParser& operator=(const ResponseParser&) = delete;

    /// Readies the parser for the response to a new request (`head_request`: it has no body).
    void start(bool head_request, Headers* headers, std::string* reason);

    /// Parses `size` bytes. Returns nullptr, or why the response is malformed.
    const char* feed(const char* data, std::size_t size);
    /// The peer ended the stream. Returns nullptr if that completed the message (a
    /// close-delimited body), else why the response is incomplete.
    const char* finish();

    bool started() const noexcept { return received_ != 0; }  // any byte of the response came
    bool head_complete() const noexcept { return head_complete_; }
    bool message_complete() const noexcept { return message_complete_; }
    int status() const noexcept { return status_; }
    bool keep_alive() const noexcept { return keep_alive_; }
    bool leftover() const noexcept { return leftover_; }
    /// The body ends at end of stream (neither Content-Length nor chunked).
    bool needs_eof() const noexcept { return llhttp_message_needs_eof(&parser_) != 0; }

    std::vector<Span>& body() noexcept { return body_; }
    void clear_body() noexcept { body_.clear(); }

private:
    static int on_status(llhttp_t* p, const char* at, std::size_t size);
    static int on_header_field(llhttp_t* p, const char* at, std::size_t size);
    static int on_header_value(llhttp_t* p, const char* at, std::size_t size);
    static int on_header_value_complete(llhttp_t* p);
    static int on_headers_complete(llhttp_t* p);
    static int on_body(llhttp_t* p, const char* at, std::size_t size);
    static int on_message_complete(llhttp_t* p);
    static const llhttp_settings_t& settings() noexcept;
    /// llhttp_execute on [data, end); `more`: input follows (so a message ending here leaves
    /// leftover bytes).
    const char* execute(const char* data, const char* end, bool more);
    static ResponseParser& self(llhttp_t* p) noexcept { return *static_cast<ResponseParser*>(p->data); }

    llhttp_t parser_;
    Headers* headers_ = nullptr;
    std::string* reason_ = nullptr;
    std::string field_;
    std::string value_;
    std::vector<Span> body_;
    std::size_t received_ = 0;
    int status_ = 0;
    bool head_request_ = false;
    bool head_complete_ = false;
    bool message_complete_ = false;
    bool keep_alive_ = false;
    bool leftover_ = false;
    bool finishing_ = false;
    bool cr_last_ = false;  // the head's last byte fed was a CR (its LF may start the next read)
    const char* user_error_ = nullptr;
};

}  // namespace weft::http::detail
