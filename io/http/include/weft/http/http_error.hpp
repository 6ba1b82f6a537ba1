// weft::http::HttpError: thrown by a server handler (or by the server's own body reading)
// to answer with a given status instead of 500.
//
//   router.get("/users/{id}", [](weft::http::Request& req) -> weft::Task<weft::http::Response> {
//       auto user = find(req.path_param("id"));
//       if (!user) throw weft::http::HttpError(404, "no such user");
//       co_return weft::http::Response::json(user->to_json());
//   });
//
// The server answers `status` with what() as a text/plain body. Request::body() and
// read_some() throw it themselves: 413 when the body passes ServerOptions::max_body_bytes,
// 400 when the body is malformed (bad chunk framing), 408 when the client stops sending it;
// after those the connection is closed (the rest of the body cannot be skipped safely).
#pragma once

#include <string>

#include <weft/error.hpp>

namespace weft::http {

class HttpError : public Error {
public:
    HttpError(int status, const std::string& message) : Error(message), status_(status) {}
    int status() const noexcept { return status_; }

private:
    int status_;
};

}  // namespace weft::http
