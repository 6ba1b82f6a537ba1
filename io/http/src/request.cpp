#include <weft/http/request.hpp>

#include <algorithm>
#include <cstring>

#include <weft/http/headers.hpp>
#include <weft/http/percent.hpp>

#include "body_source.hpp"

namespace weft::http {

void Request::reset() noexcept {
    method_ = Method::get;
    method_name_ = {};
    target_ = path_ = query_ = {};
    version_major_ = version_minor_ = 1;
    keep_alive_ = true;
    chunked_ = false;
    expect_continue_ = false;
    content_length_.reset();
    headers_.clear();
    param_count_ = 0;
    pending_ = {};
    body_source_ = nullptr;
}

std::optional<std::string_view> Request::header(std::string_view name) const noexcept {
    for (const HeaderView& h : headers_)
        if (iequals(h.name, name)) return h.value;
    return std::nullopt;
}

std::string_view Request::path_param(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < param_count_; ++i)
        if (params_[i].name == name) return params_[i].value;
    return {};
}

std::string_view Request::path_param_raw(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < param_count_; ++i)
        if (params_[i].name == name) return params_[i].raw;
    return {};
}

void Request::bind_path_param(std::string_view name, std::string_view raw) noexcept {
    if (param_count_ == kMaxParams) return;
    std::string_view value = raw;
    // (The room check keeps the views already handed out valid: reserve_path_params made it.)
    if (raw.find('%') != std::string_view::npos && decoded_params_.capacity() - decoded_params_.size() >= raw.size()) {
        const std::size_t start = decoded_params_.size();
        const std::size_t length = percent_decode_into(raw, decoded_params_);
        value = std::string_view(decoded_params_).substr(start, length);
    }
    params_[param_count_++] = {name, raw, value};
}

namespace {

// Calls fn(name, value) for each non-empty '&'-separated pair of `query`, raw; false from fn stops.
template <class F>
void for_each_query_pair(std::string_view query, F fn) {
    std::size_t pos = 0;
    while (pos <= query.size()) {
        std::size_t end = query.find('&', pos);
        if (end == std::string_view::npos) end = query.size();
        std::string_view pair = query.substr(pos, end - pos);
        pos = end + 1;
        if (pair.empty()) continue;
        std::size_t eq = pair.find('=');
        std::string_view name = pair.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        if (!fn(name, value)) return;
    }
}

}  // namespace

std::optional<std::string> Request::query_param(std::string_view name) const {
    std::optional<std::string> found;
    for_each_query_pair(query_, [&](std::string_view raw_name, std::string_view raw_value) {
        if (raw_name == name || percent_decode(raw_name, PlusIsSpace::yes) == name) {
            found = percent_decode(raw_value, PlusIsSpace::yes);
            return false;
        }
        return true;
    });
    return found;
}

std::vector<std::pair<std::string, std::string>> Request::query_params() const {
    std::vector<std::pair<std::string, std::string>> pairs;
    for_each_query_pair(query_, [&](std::string_view raw_name, std::string_view raw_value) {
        pairs.emplace_back(percent_decode(raw_name, PlusIsSpace::yes), percent_decode(raw_value, PlusIsSpace::yes));
        return true;
    });
    return pairs;
}

Task<std::string_view> Request::read_some() {
    if (!pending_.empty()) co_return std::exchange(pending_, {});
    if (!body_source_) co_return std::string_view();
    std::string_view piece = co_await body_source_->next_piece();
    co_return piece;
}

Task<std::size_t> Request::read_body(void* data, std::size_t size) {
    if (size == 0) co_return 0;
    if (pending_.empty()) {
        std::string_view piece = co_await read_some();
        pending_ = piece;
    }
    std::size_t n = std::min(size, pending_.size());
    std::memcpy(data, pending_.data(), n);
    pending_.remove_prefix(n);
    co_return n;
}

Task<std::string_view> Request::body() {
    std::string_view first = co_await read_some();
    if (first.empty()) co_return first;
    // One piece and the body is over: the view into the read buffer is the body (no copy).
    if (pending_.empty() && body_source_ && body_source_->body_done()) co_return first;
    std::string& whole = body_source_->whole;
    whole.assign(first);  // copied before the next read can overwrite it
    for (;;) {
        std::string_view piece = co_await read_some();
        if (piece.empty()) break;
        whole.append(piece);
    }
    co_return std::string_view(whole);
}

}  // namespace weft::http
