#include <weft/http/router.hpp>

#include <weft/error.hpp>
#include <weft/http/percent.hpp>

namespace weft::http {

namespace {

bool is_param(std::string_view segment) {
    return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// The next '/'-separated segment of `path` at `pos` (pos is just past a '/').
std::string_view next_segment(std::string_view path, std::size_t& pos) {
    std::size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(pos, end - pos);
    pos = end + 1;
    return segment;
}

}  // namespace

Router& Router::route(Method method, std::string_view pattern, Handler handler) {
    if (pattern.empty() || pattern.front() != '/')
        throw UsageError("weft::http::Router: a pattern starts with '/': \"" + std::string(pattern) + "\"");
    if (!handler) throw UsageError("weft::http::Router: empty handler for " + std::string(pattern));
    Route r{method, false, std::string(pattern), {}, std::move(handler)};
    std::size_t pos = 1;
    std::size_t params = 0;
    while (pos <= pattern.size()) {
        std::string_view segment = next_segment(pattern, pos);
        if (is_param(segment)) {
            if (++params > 8) throw UsageError("weft::http::Router: more than 8 {parameters} in " + r.pattern);
            bool rest = segment.size() > 5 && segment.substr(segment.size() - 4) == "...}";
            if (rest && pos <= pattern.size())
                throw UsageError("weft::http::Router: {name...} must be the last segment of " + r.pattern);
        }
        r.segments.emplace_back(segment);
    }
    routes_.push_back(std::move(r));
    return *this;
}

Router& Router::any(std::string_view pattern, Handler handler) {
    route(Method::other, pattern, std::move(handler));
    routes_.back().any_method = true;
    return *this;
}

bool Router::match_path(const Route& route, std::string_view path, Request* bind) {
    if (path.empty() || path.front() != '/') return false;
    std::size_t pos = 1;
    for (std::size_t i = 0; i < route.segments.size(); ++i) {
        if (pos > path.size()) return false;  // the path has fewer segments
        const std::string& want = route.segments[i];
        if (is_param(want) && want.size() > 5 && want.compare(want.size() - 4, 4, "...}") == 0) {
            if (bind) bind->bind_path_param(std::string_view(want).substr(1, want.size() - 5), path.substr(pos));
            return true;
        }
        std::string_view got = next_segment(path, pos);
        if (is_param(want)) {
            if (got.empty()) return false;
            if (bind) bind->bind_path_param(std::string_view(want).substr(1, want.size() - 2), got);
        } else if (got != want && !percent_decoded_equals(got, want)) {
            return false;
        }
    }
    return pos > path.size();  // no segment left over
}

Router::Match Router::match(Request& request) const {
    Match result;
    if (request.target() == "*") {  // OPTIONS * (the parser refuses * with any other method)
        result.status = 200;
        for (const Route& r : routes_) {
            if (!r.any_method) add_allowed(result.allow, r.method);
        }
        return result;
    }
    std::string_view path = request.path();
    Method method = request.method();
    bool path_matched = false;
    request.reserve_path_params(path.size());
    for (const Route& r : routes_) {
        bool method_ok = r.any_method || r.method == method || (method == Method::head && r.method == Method::get);
        if (method_ok) {
            request.clear_path_params();
            if (match_path(r, path, &request)) {
                result.handler = &r.handler;
                result.status = 200;
                return result;
            }
        } else if (match_path(r, path, nullptr)) {
            path_matched = true;
        }
    }
    request.clear_path_params();
    if (!path_matched) return result;
    result.status = 405;
    for (const Route& r : routes_) {
        if (!r.any_method && match_path(r, path, nullptr)) add_allowed(result.allow, r.method);
    }
    return result;
}

void Router::add_allowed(std::string& allow, Method method) {
    std::string_view name = to_string(method);
    if (allow.find(name) != std::string::npos) return;
    if (!allow.empty()) allow += ", ";
    allow += name;
    if (method == Method::get) add_allowed(allow, Method::head);
}

}  // namespace weft::http
