#include "request_parser.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include <weft/http/headers.hpp>

namespace weft::http::detail {

namespace {

RequestParser* self(llhttp_t* p) { return static_cast<RequestParser*>(p->data); }

// Extends `view` by [at, at+n) when contiguous (a span llhttp split across two executes);
// else starts it there.
void extend(std::string_view& view, const char* at, std::size_t n) {
    if (!view.empty() && view.data() + view.size() == at) {
        view = std::string_view(view.data(), view.size() + n);
    } else {
        view = std::string_view(at, n);
    }
}

std::string_view trim_ows(std::string_view v) {
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    return v;
}

}  // namespace

const llhttp_settings_t RequestParser::settings_ = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_method = &RequestParser::on_method;
    s.on_url = &RequestParser::on_url;
    s.on_header_field = &RequestParser::on_header_field;
    s.on_header_value = &RequestParser::on_header_value;
    s.on_headers_complete = &RequestParser::on_headers_complete;
    s.on_body = &RequestParser::on_body;
    s.on_message_complete = &RequestParser::on_message_complete;
    s.on_chunk_complete = &RequestParser::on_chunk_complete;
    s.on_chunk_extension_name = &RequestParser::on_chunk_extension;
    s.on_chunk_extension_value = &RequestParser::on_chunk_extension;
    return s;
}();

RequestParser::RequestParser(ParserLimits limits) : limits_(limits) {
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
}

int RequestParser::on_method(llhttp_t* p, const char* at, std::size_t n) {
    extend(self(p)->request_->method_name_, at, n);
    return 0;
}

int RequestParser::on_url(llhttp_t* p, const char* at, std::size_t n) {
    extend(self(p)->request_->target_, at, n);
    return 0;
}

int RequestParser::on_header_field(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser* me = self(p);
    if (me->head_done_) {
        // A chunked body's trailer fields: dropped (RFC 9110 section 6.5.1 forbids merging them
        // into the header section, and their bytes are in the body buffer, which the next read
        // reuses), but bounded like the head's fields. (A name split across reads counts twice.)
        if (++me->trailer_fields_ > me->limits_.max_headers) return -1;
        return 0;
    }
    auto& headers = me->request_->headers_;
    if (me->in_value_ || headers.empty() || headers.back().name.data() + headers.back().name.size() != at) {
        if (headers.size() >= me->limits_.max_headers) {
            me->too_many_headers_ = true;
            return -1;
        }
        headers.push_back({std::string_view(at, n), {}});
    } else {
        extend(headers.back().name, at, n);
    }
    me->in_value_ = false;
    return 0;
}

int RequestParser::on_header_value(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser* me = self(p);
    if (me->head_done_) return 0;  // a trailer's (see on_header_field)
    auto& headers = me->request_->headers_;
    if (headers.empty()) return -1;
    extend(headers.back().value, at, n);
    me->in_value_ = true;
    return 0;
}

int RequestParser::on_headers_complete(llhttp_t* p) {
    RequestParser* me = self(p);
    Request& req = *me->request_;
    me->head_done_ = true;
    req.method_ = parse_method(req.method_name_);
    req.version_major_ = p->http_major;
    req.version_minor_ = p->http_minor;
    req.keep_alive_ = llhttp_should_keep_alive(p) != 0;
    req.chunked_ = (p->flags & F_CHUNKED) != 0;
    if (p->flags & F_CONTENT_LENGTH) req.content_length_ = p->content_length;
    for (HeaderView& h : req.headers_) {
        h.value = trim_ows(h.value);
        if (h.name.size() == 6 && iequals(h.name, "expect")) req.expect_continue_ = iequals(h.value, "100-continue");
    }
    auto q = req.target_.find('?');
    req.path_ = req.target_.substr(0, q);
    req.query_ = q == std::string_view::npos ? std::string_view() : req.target_.substr(q + 1);
    if (int status = me->check_head(req)) {
        me->head_status_ = status;
        return -1;
    }
    // An Upgrade we ignore (RFC 9110 section 7.8: weft speaks HTTP/1.1 only): the message goes
    // on as HTTP/1.1, body included (parse_head resumes llhttp after it). CONNECT: we answer,
    // then close, since the bytes after this head are not HTTP any more.
    if (p->method == HTTP_CONNECT) {
        me->stopped_ = true;
        req.keep_alive_ = false;
        me->message_done_ = true;
        return HPE_PAUSED;
    }
    if (!req.has_body()) return 0;  // on_message_complete follows at once and pauses
    return HPE_PAUSED;
}

int RequestParser::check_head(Request& req) noexcept {
    auto refuse = [this](int status, const char* reason) {
        head_reason_ = reason;
        return status;
    };
    if (req.version_major_ != 1) return refuse(505, "HTTP version not supported");
    std::size_t hosts = 0;
    std::string_view host;
    bool transfer_encoding = false;
    for (const HeaderView& h : req.headers_) {
        if (!is_valid_header_name(h.name)) return refuse(400, "invalid header field name");
        if (iequals(h.name, "host")) {
            ++hosts;
            host = h.value;
        } else if (iequals(h.name, "transfer-encoding")) {
            transfer_encoding = true;
            // (llhttp took "chunked" as the last coding; any other one we cannot decode.)
            if (!iequals(h.value, "chunked")) return refuse(501, "transfer coding not implemented");
        }
    }
    // RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 is faulty framing (smuggling).
    if (transfer_encoding && req.version_minor_ == 0) return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
    // RFC 9112 section 3.2: HTTP/1.1 needs exactly one Host, and a valid one.
    if (req.version_minor_ >= 1 && hosts != 1) return refuse(400, "an HTTP/1.1 request needs exactly one Host");
    if (host.find_first_of(" \t/\\@?#") != std::string_view::npos) return refuse(400, "invalid Host");
    // RFC 9110 section 10.1.1: 100-continue from an HTTP/1.0 client is ignored.
    if (req.version_minor_ == 0) req.expect_continue_ = false;
    // RFC 9112 section 3.2.2: the absolute form (what proxies are sent) is accepted: its path.
    std::string_view target = req.path_;
    if (target.size() > 7 && (iequals(target.substr(0, 7), "http://") || iequals(target.substr(0, 8), "https://"))) {
        std::string_view rest = target.substr(target.find("//") + 2);
        auto slash = rest.find('/');
        req.path_ = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    }
    if (req.target_.find('#') != std::string_view::npos) return refuse(400, "a fragment in the request target");
    // RFC 9112 section 3.2.4: the asterisk form only for OPTIONS (answered by the connection:
    // it asks about the server, not a resource). Any other target but the origin form (or
    // CONNECT's authority form) is malformed.
    if (req.target_ == "*") {
        if (req.method_ != Method::options) return refuse(400, "the request target * is only for OPTIONS");
    } else if (!req.path_.starts_with('/') && req.method_ != Method::connect) {
        return refuse(400, "invalid request target");
    }
    return 0;
}

int RequestParser::on_body(llhttp_t* p, const char* at, std::size_t n) {
    RequestParser* me = self(p);
    if (!me->pieces_) return -1;  // body bytes while parsing a head: cannot happen
    me->pieces_->emplace_back(at, n);
    return 0;
}

int RequestParser::on_message_complete(llhttp_t* p) {
    self(p)->message_done_ = true;
    return HPE_PAUSED;
}

// Paused right after the CRLF that ends a chunk's data (or the trailers): parse_body checks
// that it is one. (llhttp 8.1, Debian 12's, skips those two bytes unread: "3\r\nabcXY0..."
// would otherwise end the body at the attacker's choice: request smuggling.)
// Chunk extensions are parsed and ignored, but their bytes count: at most max_header_bytes per
// message (unbounded, a client could stream them forever outside max_body_bytes: the
// CVE-2024-22019 class, which llhttp 9.1.3 caps the same way).
int RequestParser::on_chunk_extension(llhttp_t* p, const char*, std::size_t n) {
    RequestParser* me = self(p);
    me->extension_bytes_ += n;
    return me->extension_bytes_ > me->limits_.max_header_bytes ? -1 : 0;
}

int RequestParser::on_chunk_complete(llhttp_t* p) {
    self(p)->chunk_done_ = true;
    return HPE_PAUSED;
}

namespace {

// The minor version of a request line "... HTTP/1.d" with d in 2..9 (0 for any other): RFC 9110
// section 2.5 has a server answer such a request as the highest 1.x it speaks, and llhttp 8.1
// refuses every 1.x but 1.0 and 1.1 (it has no lenient flag for versions until 9.x).
int newer_http1_minor(const char* head, std::size_t size) noexcept {
    const void* nl = std::memchr(head, '\n', size);
    if (!nl) return 0;
    std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - head);
    if (end > 0 && head[end - 1] == '\r') --end;
    if (end < 9 || head[end - 9] != ' ' || std::memcmp(head + end - 8, "HTTP/1.", 7) != 0) return 0;
    const char minor = head[end - 1];
    return minor >= '2' && minor <= '9' ? minor - '0' : 0;
}

}  // namespace

// Runs llhttp over a whole head; with newer_minor set, it is given "1" in place of the
// request line's minor digit (the last byte before its line end), the rest as it is.
llhttp_errno_t RequestParser::execute_head(const char* data, std::size_t head_end, int newer_minor) {
    if (newer_minor == 0) return llhttp_execute(&parser_, data, head_end);
    const char* digit = static_cast<const char*>(std::memchr(data, '\n', head_end)) - 1;
    if (*digit == '\r') --digit;
    static constexpr char kOne = '1';
    llhttp_errno_t err = llhttp_execute(&parser_, data, static_cast<std::size_t>(digit - data));
    if (err == HPE_OK) err = llhttp_execute(&parser_, &kOne, 1);
    if (err == HPE_OK) err = llhttp_execute(&parser_, digit + 1, static_cast<std::size_t>(data + head_end - digit - 1));
    return err;
}

ParseResult RequestParser::parse_head(const char* data, std::size_t size, Request& request) {
    ParseResult result;
    if (stopped_) return {ParseResult::error, 0, 400, "connection cannot be parsed further"};
    // Blank lines before a request are ignored (RFC 9112 section 2.2).
    std::size_t skip = 0;
    while (skip < size && (data[skip] == '\r' || data[skip] == '\n')) ++skip;
    if (skip > 0) {
        scanned_ = 0;
        result = parse_head(data + skip, size - skip, request);
        result.consumed += skip;
        return result;
    }
    // Find the blank line that ends the head: "\n\r\n" or "\n\n".
    std::size_t head_end = 0;
    std::size_t i = scanned_;
    while (i < size) {
        const void* nl = std::memchr(data + i, '\n', size - i);
        if (!nl) {
            i = size;
            break;
        }
        i = static_cast<std::size_t>(static_cast<const char*>(nl) - data);
        if (i + 1 < size && data[i + 1] == '\n') {
            head_end = i + 2;
            break;
        }
        if (i + 2 < size && data[i + 1] == '\r' && data[i + 2] == '\n') {
            head_end = i + 3;
            break;
        }
        if (i + 2 >= size) break;  // may complete with the next bytes: rescan from this '\n'
        ++i;
    }
    if (head_end == 0) {
        // The method so far must be a token (RFC 9110 section 9.1): anything else (a TLS
        // ClientHello's 0x16 on a plain port, binary noise) is refused now, as nginx does, not
        // after header_read_timeout. A complete head gets llhttp's full check instead.
        // (Only the first 32 bytes: no method is longer, and a head dripped byte by byte is
        // not rescanned whole each time.)
        std::string_view method(data, std::min<std::size_t>(size, 32));
        method = method.substr(0, method.find(' '));
        if (!method.empty() && !is_valid_header_name(method)) {
            stopped_ = true;
            return {ParseResult::error, 0, 400, "the request line does not start with a method"};
        }
        scanned_ = i;
        if (size > limits_.max_header_bytes) {
            // The request line alone is over the limit: its target is (nginx: 414).
            if (!std::memchr(data, '\n', limits_.max_header_bytes))
                return {ParseResult::error, 0, 414, "request target too long"};
            return {ParseResult::error, 0, 431, "request head too large"};
        }
        return result;
    }
    scanned_ = 0;
    if (head_end > limits_.max_header_bytes) return {ParseResult::error, 0, 431, "request head too large"};
    // obs-fold (a field line continued on the next, RFC 9112 section 5.2): refused, as nginx does.
    for (const char* nl = data; (nl = static_cast<const char*>(std::memchr(nl, '\n', data + head_end - nl)));) {
        if (++nl < data + head_end && (*nl == ' ' || *nl == '\t')) {
            stopped_ = true;
            return {ParseResult::error, 0, 400, "obs-fold (a header line continued on the next)"};
        }
    }

    request.reset();
    request_ = &request;
    pieces_ = nullptr;
    head_done_ = false;
    message_done_ = false;
    too_many_headers_ = false;
    in_value_ = false;
    chunk_done_ = false;
    trailer_fields_ = 0;
    extension_bytes_ = 0;
    head_status_ = 0;
    last_two_[0] = last_two_[1] = 0;
    const int newer_minor = newer_http1_minor(data, head_end);
    llhttp_errno_t err = execute_head(data, head_end, newer_minor);
    if (err == HPE_PAUSED_UPGRADE) {  // the message before asked for an Upgrade we ignored
        llhttp_resume_after_upgrade(&parser_);
        err = execute_head(data, head_end, newer_minor);
    }
    if (err == HPE_PAUSED && head_done_) {
        llhttp_resume(&parser_);
        if (newer_minor != 0) request.version_minor_ = newer_minor;  // as received; served as 1.1
        result.kind = ParseResult::head;
        result.consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
        // llhttp and our scan must agree where the head ends (llhttp 8.1 ends it at "\r\n\r"
        // and any byte: what follows would run as a smuggled request).
        if (result.consumed == head_end) return result;
        err = HPE_INVALID_HEADER_TOKEN;
    }
    stopped_ = true;
    message_done_ = true;
    if (head_status_ != 0) return {ParseResult::error, 0, head_status_, head_reason_};
    if (too_many_headers_) return {ParseResult::error, 0, 431, "too many header fields"};
    if (err == HPE_OK) return {ParseResult::error, 0, 400, "malformed request head"};
    int status = err == HPE_INVALID_VERSION ? 505 : 400;
    return {ParseResult::error, 0, status, llhttp_errno_name(err)};
}

ParseResult RequestParser::parse_body(const char* data, std::size_t size, std::vector<std::string_view>& pieces) {
    ParseResult result{ParseResult::body, 0, 0, ""};
    if (message_done_ || size == 0) return result;
    pieces_ = &pieces;
    const char* cursor = data;
    llhttp_errno_t err = llhttp_execute(&parser_, cursor, size);
    while (err == HPE_PAUSED && chunk_done_) {
        chunk_done_ = false;
        const char* at = llhttp_get_error_pos(&parser_);
        // The two bytes before `at` (one or both may be the end of the previous read).
        const auto offset = static_cast<std::size_t>(at - data);
        const char before2 = offset >= 2 ? at[-2] : (offset == 1 ? last_two_[1] : last_two_[0]);
        const char before1 = offset >= 1 ? at[-1] : last_two_[1];
        if (before2 != '\r' || before1 != '\n') {
            err = HPE_INVALID_CHUNK_SIZE;
            break;
        }
        llhttp_resume(&parser_);
        cursor = at;
        err = llhttp_execute(&parser_, cursor, static_cast<std::size_t>(data + size - cursor));
    }
    pieces_ = nullptr;
    if (size >= 2) {
        last_two_[0] = data[size - 2];
        last_two_[1] = data[size - 1];
    } else {
        last_two_[0] = last_two_[1];
        last_two_[1] = data[0];
    }
    if (err == HPE_OK) {
        result.consumed = size;
        return result;
    }
    if (err == HPE_PAUSED && message_done_) {
        llhttp_resume(&parser_);
        result.consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
        return result;
    }
    stopped_ = true;
    message_done_ = true;
    return {ParseResult::error, 0, 400, llhttp_errno_name(err)};
}

}  // namespace weft::http::detail
