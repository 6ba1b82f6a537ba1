#include <weft/http/client_response.hpp>

#include <cstring>

#include <weft/error.hpp>
#include <weft/http/errors.hpp>

#include "client_connection.hpp"
#include "connection_pool.hpp"

namespace weft::http {

ClientResponse::ClientResponse() noexcept = default;
ClientResponse::ClientResponse(ClientResponse&&) noexcept = default;

ClientResponse& ClientResponse::operator=(ClientResponse&& other) noexcept {
    if (this != &other) {
        close();
        pool_ = std::move(other.pool_);
        connection_ = std::move(other.connection_);
        permit_ = std::move(other.permit_);
        host_permit_ = std::move(other.host_permit_);
        deadlines_ = other.deadlines_;
        url_ = std::move(other.url_);
        reason_ = std::move(other.reason_);
        headers_ = std::move(other.headers_);
        status_ = other.status_;
        span_ = other.span_;
        span_offset_ = other.span_offset_;
        complete_ = other.complete_;
    }
    return *this;
}

ClientResponse::~ClientResponse() { close(); }

void ClientResponse::close() noexcept {
    // The connection first, then the permits: a waiting request must not open a connection
    // while this one is still open (the limit counts open connections in use).
    connection_.reset();
    host_permit_ = Semaphore::Guard{};
    permit_ = Semaphore::Guard{};
}

void ClientResponse::finish_body() {
    detail::ResponseParser& parser = connection_->parser;
    complete_ = true;
    // Reused only if neither side said Connection: close and nothing unasked followed.
    if (parser.keep_alive() && !parser.leftover() && !connection_->close_requested) {
        parser.clear_body();
        pool_->give_back(std::move(connection_));
    }
    close();
}

std::size_t ClientResponse::copy_body(char* out, std::size_t size) {
    auto& spans = connection_->parser.body();
    std::size_t copied = 0;
    while (copied < size && span_ < spans.size()) {
        const auto& span = spans[span_];
        std::size_t n = std::min(size - copied, span.size - span_offset_);
        std::memcpy(out + copied, span.data + span_offset_, n);
        copied += n;
        span_offset_ += n;
        if (span_offset_ == span.size) {
            ++span_;
            span_offset_ = 0;
        }
    }
    return copied;
}

Task<std::size_t> ClientResponse::read(void* data, std::size_t size) {
    if (!connection_) {
        if (complete_ || size == 0) co_return 0;
        throw UsageError("http::ClientResponse::read: the response was closed before its body was read");
    }
    if (size == 0) co_return 0;
    try {
        for (;;) {
            if (std::size_t n = copy_body(static_cast<char*>(data), size)) {
                if (span_ == connection_->parser.body().size() && connection_->parser.message_complete()) {
                    finish_body();  // the last bytes: hand the connection back now
                }
                co_return n;
            }
            if (connection_->parser.message_complete()) {
                finish_body();
                co_return 0;
            }
            connection_->parser.clear_body();
            span_ = 0;
            span_offset_ = 0;
            co_await connection_->receive(url_, deadlines_);
        }
    } catch (...) {
        close();
        throw;
    }
}

Task<std::string> ClientResponse::text(std::size_t max_size) {
    std::string out;
    if (!connection_) {
        if (complete_) co_return out;
        throw UsageError("http::ClientResponse::text: the response was closed before its body was read");
    }
    bool too_large = false;
    try {
        for (;;) {
            auto& spans = connection_->parser.body();
            for (; span_ < spans.size(); ++span_) {
                std::size_t n = spans[span_].size - span_offset_;
                if (out.size() + n > max_size) {
                    too_large = true;
                    break;
                }
                out.append(spans[span_].data + span_offset_, n);
                span_offset_ = 0;
            }
            if (too_large) break;
            if (connection_->parser.message_complete()) {
                finish_body();
                co_return out;
            }
            connection_->parser.clear_body();
            span_ = 0;
            span_offset_ = 0;
            co_await connection_->receive(url_, deadlines_);
        }
    } catch (...) {
        close();
        throw;
    }
    close();
    throw ClientError(url_, "the response body is larger than text()'s max_size (" + std::to_string(max_size) +
                                " bytes): read it with read()");
}

}  // namespace weft::http
