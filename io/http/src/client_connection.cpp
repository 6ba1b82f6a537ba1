#include "client_connection.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <optional>

#include <weft/detail/deadline_after.hpp>
#include <weft/http/errors.hpp>
#include <weft/io_error.hpp>
#include <weft/resolve.hpp>
#include <weft/sleep.hpp>
#include <weft/timeout.hpp>

namespace weft::http::detail {
namespace {

using Clock = std::chrono::steady_clock;

// The deadline of one wait: the phase's own limit or the request's total, whichever is first.
struct Limit {
    Clock::time_point when = Clock::time_point::max();
    RequestTimeout::Phase phase = RequestTimeout::Phase::read;
    bool none() const noexcept { return when == Clock::time_point::max(); }
};

Limit limit_of(std::chrono::milliseconds own, RequestTimeout::Phase phase, const Deadlines& deadlines) {
    Limit limit;
    if (own.count() > 0) limit = {weft::detail::deadline_after(weft::now(), own), phase};
    if (deadlines.total != Clock::time_point{} && deadlines.total < limit.when) {
        limit = {deadlines.total, RequestTimeout::Phase::total};
    }
    return limit;
}

[[noreturn]] void throw_timeout(const std::string& url, const Limit& limit) {
    switch (limit.phase) {
        case RequestTimeout::Phase::connect:
            throw RequestTimeout(url, "connect timed out (connect_timeout)", limit.phase);
        case RequestTimeout::Phase::read:
            throw RequestTimeout(url, "the server sent nothing for read_timeout", limit.phase);
        case RequestTimeout::Phase::total:
            break;
    }
    throw RequestTimeout(url, "the request took longer than total_timeout", limit.phase);
}

}  // namespace

ClientConnection::ClientConnection(net::TcpStream stream, std::string origin)
    : stream_(std::move(stream)), buffer_(new char[kBufferSize]), origin_(std::move(origin)) {}

ClientConnection::ClientConnection(tls::Stream stream, std::string origin)
    : tls_(std::move(stream)), secure_(true), buffer_(new char[kBufferSize]), origin_(std::move(origin)) {}

Task<std::unique_ptr<ClientConnection>> ClientConnection::open(const Url& url, const std::string& url_text,
                                                               const ClientOptions& options, const tls::Context* tls,
                                                               const Deadlines& deadlines) {
    Limit limit = limit_of(options.connect_timeout, RequestTimeout::Phase::connect, deadlines);
    std::unique_ptr<ClientConnection> connection;
    bool timed_out = false;
    try {
        std::optional<TimeoutScope> scope;
        if (!limit.none()) scope.emplace(limit.when);
        try {
            net::TcpStream stream = co_await net::TcpStream::connect(url.host, url.port);
            stream.set_nodelay(true);
            if (tls) {
                tls::Stream secure = co_await tls::Stream::connect(std::move(stream), *tls, url.host);
                connection = std::make_unique<ClientConnection>(std::move(secure), url.origin());
            } else {
                connection = std::make_unique<ClientConnection>(std::move(stream), url.origin());
            }
        } catch (const TimeoutError& e) {
            if (!scope || e.scope() != &*scope) throw;
            timed_out = true;
        }
    } catch (const ResolveError& e) {
        throw ConnectError(url_text, e.what());
    } catch (const tls::CertificateError& e) {
        throw ConnectCertificateError(url_text, e.what());
    } catch (const tls::TlsError& e) {
        throw ConnectError(url_text, std::string("TLS handshake failed: ") + e.what());
    } catch (const IoError& e) {
        throw ConnectError(url_text, e.what(), e.code());
    }
    if (timed_out) throw_timeout(url_text, limit);
    co_return connection;
}

Task<void> ClientConnection::send(const std::string& url, const Deadlines& deadlines) {
    Limit limit = limit_of(std::chrono::milliseconds{0}, RequestTimeout::Phase::read, deadlines);
    bool timed_out = false;
    try {
        if (limit.none()) {
            if (secure_) {
                co_await tls_.write_all(request);
            } else {
                co_await stream_.write_all(request);
            }
        } else {
            auto scope = weft::timeout_at(limit.when);
            try {
                if (secure_) {
                    co_await tls_.write_all(request);
                } else {
                    co_await stream_.write_all(request);
                }
            } catch (const TimeoutError& e) {
                if (e.scope() != &scope) throw;
                timed_out = true;
            }
        }
    } catch (const IoError& e) {
        throw ServerDisconnected(url, std::string("sending the request: ") + e.what());
    }
    if (timed_out) throw_timeout(url, limit);
}

Task<void> ClientConnection::receive(const std::string& url, const Deadlines& deadlines) {
    Limit limit = limit_of(deadlines.read, RequestTimeout::Phase::read, deadlines);
    std::size_t n = 0;
    bool timed_out = false;
    try {
        if (limit.none()) {
            n = secure_ ? co_await read_some() : co_await stream_.read(buffer_.get(), kBufferSize);
        } else {
            auto scope = weft::timeout_at(limit.when);
            try {
                n = secure_ ? co_await read_some() : co_await stream_.read(buffer_.get(), kBufferSize);
            } catch (const TimeoutError& e) {
                if (e.scope() != &scope) throw;
                timed_out = true;
            }
        }
    } catch (const ConnectionReset&) {
        throw ServerDisconnected(url, "the server reset the connection");
    } catch (const IoError& e) {
        throw ServerDisconnected(url, e.what());
    }
    if (timed_out) throw_timeout(url, limit);
    if (n == 0) {
        if (const char* error = parser.finish()) throw ServerDisconnected(url, error);
        co_return;
    }
    if (const char* error = parser.feed(buffer_.get(), n)) {
        throw InvalidResponse(url, std::string("malformed response: ") + error);
    }
}

Task<std::size_t> ClientConnection::read_some() {
    try {
        co_return co_await tls_.read(buffer_.get(), kBufferSize);
    } catch (const UnexpectedEof&) {
        // The TCP stream ended without close_notify: the parser decides whether the response
        // was complete (servers often skip close_notify after a framed body).
    }
    co_return 0;
}

bool ClientConnection::still_open() const noexcept {
    char byte;
    int fd = secure_ ? const_cast<tls::Stream&>(tls_).tcp().native_handle() : stream_.native_handle();
    ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace weft::http::detail
