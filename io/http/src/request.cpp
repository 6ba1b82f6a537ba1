#include <weft/http/request.hpp>

#include <algorithm>
#include <cstring>

#include <weft/http/headers.hpp>

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

void Request::bind_path_param(std::string_view name, std::string_view value) noexcept {
    if (param_count_ < kMaxParams) params_[param_count_++] = {name, value};
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
