#include "response_parser.hpp"

#include <cstring>
#include <exception>

namespace weft::http::detail {

const llhttp_settings_t& ResponseParser::settings() noexcept {
    static const llhttp_settings_t instance = [] {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_status = &on_status;
        s.on_header_field = &on_header_field;
        s.on_header_value = &on_header_value;
        s.on_header_value_complete = &on_header_value_complete;
        s.on_headers_complete = &on_headers_complete;
        s.on_body = &on_body;
        s.on_message_complete = &on_message_complete;
        return s;
    }();
    return instance;
}

ResponseParser::ResponseParser() noexcept { llhttp_init(&parser_, HTTP_RESPONSE, &settings()); }

void ResponseParser::start(bool head_request, Headers* headers, std::string* reason) {
    llhttp_init(&parser_, HTTP_RESPONSE, &settings());
    parser_.data = this;
    headers_ = headers;
    reason_ = reason;
    field_.clear();
    value_.clear();
    body_.clear();
    received_ = 0;
    status_ = 0;
    head_request_ = head_request;
    head_complete_ = false;
    message_complete_ = false;
    keep_alive_ = false;
    leftover_ = false;
    finishing_ = false;
    cr_last_ = false;
    user_error_ = nullptr;
}

const char* ResponseParser::feed(const char* data, std::size_t size) {
    received_ += size;
    const char* const end = data + size;
    // The head goes line by line, a bare LF fed as CRLF: RFC 9112 section 2.2 lets a recipient
    // take a bare LF for a line's end (curl and Python's http.client do), llhttp 8.1 takes
    // it only after the status line. Its llhttp_set_lenient_headers would take it too, but
    // also lifts its other header checks (control bytes in values, a line that starts with
    // a space taken as a field), so it is not used. A bare CR is still refused. The body goes
    // as it came (its bytes are data), and so does everything on a request parser (the server's
    // is another class: it stays strict).
    while (!head_complete_ && data != end) {
        const char* lf = static_cast<const char*>(std::memchr(data, '\n', static_cast<std::size_t>(end - data)));
        if (!lf) {
            cr_last_ = end[-1] == '\r';
            if (const char* error = execute(data, end, false)) return error;
            data = end;
            break;
        }
        const bool bare = lf == data ? !cr_last_ : lf[-1] != '\r';
        cr_last_ = false;
        const char* error = nullptr;
        if (bare) {
            static constexpr char kCrLf[] = "\r\n";
            error = execute(data, lf, true);
            if (!error && !message_complete_) error = execute(kCrLf, kCrLf + 2, lf + 1 != end);
        } else {
            error = execute(data, lf + 1, lf + 1 != end);
        }
        if (error) return error;
        if (message_complete_) return nullptr;
        data = lf + 1;
    }
    if (data != end && !message_complete_) {
        if (const char* error = execute(data, end, false)) return error;
    }
    if (!head_complete_ && received_ > kMaxHead) return "response head larger than 64 KiB";
    return nullptr;
}

const char* ResponseParser::execute(const char* data, const char* end, bool more) {
    llhttp_errno_t err = llhttp_execute(&parser_, data, static_cast<std::size_t>(end - data));
    if (err == HPE_OK) return nullptr;
    if (err == HPE_PAUSED && message_complete_) {
        // Stopped right after the message: anything after it is a second response we did
        // not ask for.
        leftover_ = more || llhttp_get_error_pos(&parser_) != end;
        return nullptr;
    }
    if (user_error_) return user_error_;
    const char* reason = llhttp_get_error_reason(&parser_);
    return reason && *reason ? reason : llhttp_errno_name(err);
}

const char* ResponseParser::finish() {
    if (message_complete_) return nullptr;
    if (received_ == 0) return "the server closed the connection without responding";
    finishing_ = true;
    llhttp_errno_t err = llhttp_finish(&parser_);
    if (message_complete_) return nullptr;
    if (err == HPE_OK || err == HPE_INVALID_EOF_STATE) {
        return head_complete_ ? "the server closed the connection before the end of the body"
                              : "the server closed the connection in the middle of the response head";
    }
    const char* reason = llhttp_get_error_reason(&parser_);
    return reason && *reason ? reason : llhttp_errno_name(err);
}

int ResponseParser::on_status(llhttp_t* p, const char* at, std::size_t size) {
    self(p).reason_->append(at, size);
    return 0;
}

int ResponseParser::on_header_field(llhttp_t* p, const char* at, std::size_t size) {
    self(p).field_.append(at, size);
    return 0;
}

int ResponseParser::on_header_value(llhttp_t* p, const char* at, std::size_t size) {
    self(p).value_.append(at, size);
    return 0;
}

int ResponseParser::on_header_value_complete(llhttp_t* p) {
    ResponseParser& s = self(p);
    // No exception may cross llhttp's C frames: report it as a parse error.
    try {
        s.headers_->add(s.field_, s.value_);
    } catch (const std::exception&) {
        s.user_error_ = "invalid header field";
        return HPE_USER;
    }
    s.field_.clear();
    s.value_.clear();
    return 0;
}

int ResponseParser::on_headers_complete(llhttp_t* p) {
    ResponseParser& s = self(p);
    s.status_ = llhttp_get_status_code(p);
    // RFC 9112 section 6.3: the response to a HEAD, a 1xx, a 204 and a 304 end with their
    // head, whatever Content-Length or Transfer-Encoding say (servers send those to tell the
    // length the body would have had). llhttp would wait for that body: 1 tells it "no body".
    if (s.status_ >= 100 && s.status_ < 200 && s.status_ != 101) return 1;  // interim: skipped
    if (llhttp_get_http_major(p) != 1) {
        s.user_error_ = "not an HTTP/1.x response";
        return HPE_USER;
    }
    s.head_complete_ = true;
    const bool bodiless = s.head_request_ || s.status_ == 101 || s.status_ == 204 || s.status_ == 304;
    return bodiless ? 1 : 0;
}

int ResponseParser::on_body(llhttp_t* p, const char* at, std::size_t size) {
    self(p).body_.push_back({at, size});
    return 0;
}

int ResponseParser::on_message_complete(llhttp_t* p) {
    ResponseParser& s = self(p);
    if (!s.head_complete_) {
        // The end of a 1xx interim response: the real one follows.
        s.headers_->clear();
        s.reason_->clear();
        return 0;
    }
    s.message_complete_ = true;
    // After a 101 the connection speaks another protocol (this client never asks for one):
    // it is not reused.
    s.keep_alive_ = llhttp_should_keep_alive(p) != 0 && !s.finishing_ && s.status_ != 101;
    return s.finishing_ ? 0 : HPE_PAUSED;
}

}  // namespace weft::http::detail
