// weft::http::Router: maps a method and a path to a handler, with path parameters.
//
//   weft::http::Router router;
//   router.get("/", [](weft::http::Request&) -> weft::Task<weft::http::Response> {
//       co_return weft::http::Response::text("Hello, World!");
//   });
//   router.get("/users/{id}", [](weft::http::Request& req) -> weft::Task<weft::http::Response> {
//       co_return weft::http::Response::text(std::string(req.path_param("id")));
//   });
//   router.post("/files/{name}", upload);
//   router.route(weft::http::Method::put, "/x", handler);
//
// Patterns are literal segments and `{name}` segments (one whole segment each, at most 8);
// a final `{name...}` segment matches the rest of the path, slashes included. Routes are tried
// in the order they were added; the first whose pattern and method match wins. No match:
// 404; the path matches only with other methods: 405 with an Allow header. A GET route also
// answers HEAD (the server sends no body). `OPTIONS *` is answered 200 with an Allow header
// listing the methods of every route (RFC 9110 section 9.3.7). A path is matched percent-decoded, segment by
// segment: /caf%C3%A9 matches the pattern "/café", and an encoded '/' (%2F) stays inside its
// segment; parameters are bound decoded (Request::path_param). Matching allocates nothing once
// a connection has served a path as long.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <weft/http/method.hpp>
#include <weft/http/request.hpp>
#include <weft/http/response.hpp>
#include <weft/task.hpp>

namespace weft::http {

/// A request handler: called with the request, its Task gives the response.
using Handler = std::function<Task<Response>(Request&)>;

class Router {
public:
    Router& route(Method method, std::string_view pattern, Handler handler);
    Router& get(std::string_view pattern, Handler handler) { return route(Method::get, pattern, std::move(handler)); }
    Router& post(std::string_view pattern, Handler handler) { return route(Method::post, pattern, std::move(handler)); }
    Router& put(std::string_view pattern, Handler handler) { return route(Method::put, pattern, std::move(handler)); }
    Router& patch(std::string_view pattern, Handler handler) {
        return route(Method::patch, pattern, std::move(handler));
    }
    Router& del(std::string_view pattern, Handler handler) {
        return route(Method::delete_, pattern, std::move(handler));
    }
    /// Any method on this pattern.
    Router& any(std::string_view pattern, Handler handler);

    /// The outcome of matching a request.
    struct Match {
        const Handler* handler = nullptr;  // null: status says 404, 405, or 200 (OPTIONS *)
        int status = 404;
        // For 405: the methods the path has ("GET, HEAD, POST"); for OPTIONS *: those of
        // every route (the server's answer, with no body).
        std::string allow;
    };
    /// Finds the handler for `request` and binds its path parameters into it.
    Match match(Request& request) const;

private:
    struct Route {
        Method method;
        bool any_method;
        std::string pattern;
        std::vector<std::string> segments;  // "{id}" kept as is
        Handler handler;
    };
    static bool match_path(const Route& route, std::string_view path, Request* bind);
    static void add_allowed(std::string& allow, Method method);
    std::vector<Route> routes_;
};

}  // namespace weft::http
