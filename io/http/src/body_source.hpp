// detail::BodySource: what a Request reads its body from (the connection that received it).
#pragma once

#include <string>
#include <string_view>

#include <weft/http/request.hpp>
#include <weft/task.hpp>

namespace weft::http::detail {

class BodySource {
public:
    /// The next decoded piece of the current request's body (valid until the next call);
    /// empty at its end. HttpError 400/408/413 as Request::read_some() documents.
    virtual Task<std::string_view> next_piece() = 0;
    /// True when the body has ended and every piece was handed out.
    virtual bool body_done() const noexcept = 0;
    /// Where body() gathers a body that came in more than one piece (reused).
    std::string whole;

protected:
    ~BodySource() = default;
};

/// The connection's access to a Request's private fields.
struct RequestAccess {
    static void attach(Request& r, BodySource* source) noexcept { r.body_source_ = source; }
    static bool expect_continue(const Request& r) noexcept { return r.expect_continue_; }
    static void set_peer_subject(Request& r, std::string_view subject) noexcept { r.peer_subject_ = subject; }
};

}  // namespace weft::http::detail
