// detail::Connection<S>: one server connection's loop, over a TcpStream or a tls::Stream.
//
//   read into buf_ -> parse every whole head there -> for each: route, run the handler (its
//   body is parsed on demand: body bytes already in buf_ first, then reads into body_buf_),
//   append the response to out_ -> one write for all of them -> compact -> read again.
//
// Buffers: buf_ holds heads (and whatever body bytes arrived with them); it grows only for a
// head larger than it (up to max_header_bytes) and is compacted only between batches, when no
// Request views it. Body bytes read later go to body_buf_ (allocated on the first body that
// needs it), so reading a body never moves the head the handler is looking at. Bytes of the
// next requests read with a body are moved back to buf_ after the handler.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <spdlog/spdlog.h>

#include <weft/detail/deadline_after.hpp>
#include <weft/error.hpp>
#include <weft/http/http_error.hpp>
#include <weft/http/request.hpp>
#include <weft/http/response.hpp>
#include <weft/http/status.hpp>
#include <weft/io_error.hpp>
#include <weft/net/stream.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>
#include <weft/tls/stream.hpp>

#include "body_source.hpp"
#include "request_parser.hpp"
#include "response_head.hpp"
#include "server_state.hpp"

namespace weft::http::detail {

inline constexpr std::size_t kInitialBuffer = 8 * 1024;
inline constexpr std::size_t kBodyBuffer = 64 * 1024;
inline constexpr std::size_t kFlushAt = 64 * 1024;  // flush a batch's responses early past this
inline constexpr std::size_t kMinRead = 2 * 1024;   // compact when less room than this is left
// linger(): at most this long, and this many bytes. A client that sends a whole body before
// it reads (Python's http.client, most scripts) sees a 413 only if the body is drained: 64 MiB
// covers the uploads such clients make, and the time bounds the rest.
inline constexpr std::chrono::milliseconds kLinger{2000};
inline constexpr std::size_t kLingerBytes = std::size_t{64} << 20;

template <class S>
class Connection final : public BodySource {
public:
    Connection(S stream, Server::Impl& server)
        : stream_(std::move(stream)),
          server_(server),
          options_(server.options),
          parser_({options_.max_header_bytes, options_.max_headers}),
          cap_(kInitialBuffer),
          buf_(new char[kInitialBuffer]) {
        out_.reserve(4 * 1024);
        // (A view into the stream's state, which stays put while the stream lives.)
        if constexpr (std::is_same_v<S, tls::Stream>) RequestAccess::set_peer_subject(request_, stream_.peer_subject());
    }

    /// Serves the connection until the client leaves, a limit closes it, or the server stops.
    Task<void> run(ConnectionNode& node) {
        node_ = &node;
        try {
            co_await loop();
        } catch (const CancelledError&) {
            // Closed by a graceful stop (idle) or its deadline (busy): nothing to answer.
        } catch (const IoError&) {
            // The client reset or went away mid-write (or send_timeout: below).
        } catch (const std::exception& e) {
            spdlog::warn("weft::http: connection dropped: {}", e.what());
        }
        if (send_timed_out_) reset();
    }

    Task<std::string_view> next_piece() override {
        for (;;) {
            if (piece_index_ < pieces_.size()) co_return pieces_[piece_index_++];
            if (parser_.message_done()) co_return std::string_view();
            pieces_.clear();
            piece_index_ = 0;
            const char* data;
            std::size_t size;
            if (begin_ < end_) {  // body bytes that came with the head
                data = buf_.get() + begin_;
                size = end_ - begin_;
            } else {
                if (bb_begin_ == bb_end_) co_await fill_body_buffer();
                data = body_buf_.get() + bb_begin_;
                size = bb_end_ - bb_begin_;
            }
            ParseResult r = parser_.parse_body(data, size, pieces_);
            if (r.kind == ParseResult::error) {
                body_failed_ = true;
                throw HttpError(400, std::string("malformed request body: ") + r.reason);
            }
            if (begin_ < end_) begin_ += r.consumed;
            else bb_begin_ += r.consumed;
            for (std::string_view piece : pieces_) body_received_ += piece.size();
            if (body_received_ > options_.max_body_bytes) {
                body_failed_ = true;
                throw HttpError(413, "request body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
            }
        }
    }

    bool body_done() const noexcept override { return piece_index_ >= pieces_.size() && parser_.message_done(); }

private:
    Task<void> loop() {
        bool first = true;
        for (;;) {
            while (begin_ < end_) {
                ParseResult r = parser_.parse_head(buf_.get() + begin_, end_ - begin_, request_);
                begin_ += r.consumed;
                if (r.kind == ParseResult::need_more) break;
                if (r.kind == ParseResult::error) {
                    append_simple_response(out_, r.status, {}, false);
                    co_await flush();
                    co_await linger();
                    co_return;
                }
                first = false;
                bool keep = co_await handle_request();
                restore_pipelined_bytes();
                if (!keep) {
                    co_await flush();
                    // A clean end (the request read whole, nothing after it) needs no lingering.
                    co_await linger(!parser_.message_done() || body_failed_ || begin_ < end_ || parser_.stopped());
                    co_return;
                }
                if (out_.size() >= kFlushAt) co_await flush();
            }
            co_await flush();
            if (server_.draining.load(std::memory_order_relaxed)) co_return;

            // Room for the next read: compact, or grow for a head larger than the buffer.
            if (begin_ == end_) {
                begin_ = end_ = 0;
            } else if (cap_ - end_ < kMinRead && begin_ > 0) {
                std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            }
            if (end_ == cap_) grow();

            bool partial = begin_ < end_;
            Clock::time_point deadline;
            if (partial) {
                deadline = weft::detail::deadline_after(head_started_, options_.header_read_timeout);
            } else {
                deadline = weft::detail::deadline_after(
                    now(), first ? options_.header_read_timeout : options_.keep_alive_timeout);
            }
            // Waiting for a request: a graceful stop may close us here (server_state.hpp).
            node_->idle_since.store(server_.idle_sequence.fetch_add(1, std::memory_order_relaxed) + 1,
                                    std::memory_order_relaxed);
            node_->state.store(kIdle);
            if (server_.draining.load()) co_return;
            std::size_t n = 0;
            bool timed_out = false;
            {
                auto scope = timeout_at(deadline);
                try {
                    n = co_await stream_.read(buf_.get() + end_, cap_ - end_);
                } catch (const TimeoutError& e) {
                    if (e.scope() != &scope) throw;
                    timed_out = true;
                }
            }
            int expected = kIdle;
            if (!node_->state.compare_exchange_strong(expected, kBusy)) co_return;  // being closed
            if (timed_out) {
                if (partial) {
                    append_simple_response(out_, 408, {}, false);
                    co_await flush();
                    co_await linger();
                }
                co_return;
            }
            if (n == 0) co_return;  // the client closed
            if (!partial) head_started_ = now();
            end_ += n;
        }
    }

    // Closing after our last response while the client may still be sending (a body we did
    // not read, the rest of a request we refused): closing at once would make the kernel
    // answer those bytes with a reset, which can destroy the response before the client read
    // it. So half-close, then read and drop what comes, for a little while (nginx's
    // lingering close).
    Task<void> linger(bool drain_input = true) {
        try {
            if constexpr (requires { stream_.shutdown(net::ShutdownMode::write); }) {
                stream_.shutdown(net::ShutdownMode::write);
            } else {
                co_await send_close_notify();
            }
            if (!drain_input) co_return;
            auto scope = timeout(kLinger);
            std::size_t total = 0;
            while (total < kLingerBytes) {
                std::size_t n = co_await stream_.read(buf_.get(), cap_);
                if (n == 0) break;
                total += n;
            }
        } catch (const TimeoutError&) {
        } catch (const IoError&) {
        }
    }

    void grow() {
        std::size_t cap = std::max(cap_ * 2, options_.max_header_bytes + kMinRead);
        std::unique_ptr<char[]> bigger(new char[cap]);
        std::memcpy(bigger.get(), buf_.get() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
        buf_ = std::move(bigger);
        cap_ = cap;
    }

    // Runs one request whose head was just parsed; false when the connection must close.
    Task<bool> handle_request() {
        pieces_.clear();
        piece_index_ = 0;
        body_received_ = 0;
        continue_sent_ = false;
        body_failed_ = false;
        RequestAccess::attach(request_, this);
        bool keep = request_.keep_alive() && !parser_.stopped();
        bool head_only = request_.method() == Method::head;

        Response response;
        bool answered = false;
        if (request_.method() == Method::connect) {
            response = Response::text("CONNECT is not supported\n", 501);
            keep = false;
            answered = true;
        } else if (request_.content_length() && *request_.content_length() > options_.max_body_bytes) {
            response =
                Response::text("request body larger than " + std::to_string(options_.max_body_bytes) + " bytes\n", 413);
            keep = false;
            answered = true;
        } else if (auto expect = request_.header("expect");
                   expect && !RequestAccess::expect_continue(request_) && request_.version_minor() >= 1) {
            // (An HTTP/1.0 client's Expect is ignored: RFC 9110 section 10.1.1.)
            response = Response::text("unsupported Expect\n", 417);
            keep = false;
            answered = true;
        }
        if (!answered) {
            Router::Match match = server_.router.match(request_);
            if (!match.handler) {
                response = match.status == 200  // OPTIONS *: headers only
                               ? Response(200)
                               : Response::text(std::string(reason_phrase(match.status)) + "\n", match.status);
                if (!match.allow.empty()) response.headers.add("Allow", match.allow);
            } else {
                bool failed = false;
                try {
                    Task<Response> call = options_.handler_timeout.count() == 0
                                              ? (*match.handler)(request_)
                                              : run_handler_with_timeout(*match.handler);
                    Response r = co_await std::move(call);
                    response = std::move(r);
                } catch (const HandlerTimedOut&) {
                    spdlog::warn("weft::http: handler for {} {} still running after handler_timeout ({} ms): 503",
                                 request_.method_name(), request_.target(), options_.handler_timeout.count());
                    response = Response::text("Service Unavailable: the handler timed out\n", 503);
                    keep = false;  // (it may have stopped halfway through the request's body)
                } catch (const HttpError& e) {
                    response = Response::text(std::string(e.what()) + "\n", e.status());
                } catch (const TimeoutError& e) {
                    // The handler's own deadline (the server sets none around it): a failure.
                    spdlog::error("weft::http: handler for {} {} timed out: {}", request_.method_name(),
                                  request_.target(), e.what());
                    failed = true;
                } catch (const CancelledError&) {
                    throw;
                } catch (const IoError&) {
                    throw;
                } catch (const std::exception& e) {
                    spdlog::error("weft::http: handler for {} {} failed: {}", request_.method_name(), request_.target(),
                                  e.what());
                    failed = true;
                } catch (...) {
                    spdlog::error("weft::http: handler for {} {} failed with a non-std exception",
                                  request_.method_name(), request_.target());
                    failed = true;
                }
                if (failed) response = Response::text("Internal Server Error\n", 500);
            }
        }
        if (body_failed_) keep = false;
        if (keep && !parser_.message_done()) keep = co_await skip_body();
        if (server_.draining.load(std::memory_order_relaxed)) keep = false;

        HeadFraming framing;
        framing.keep_alive = keep;
        framing.http10 = request_.version_major() == 1 && request_.version_minor() == 0;
        bool no_body = status_has_no_body(response.status);
        if (response.stream_body && !no_body) {
            framing.chunked = !response.stream_length;
            framing.content_length = response.stream_length;
            if (framing.chunked && framing.http10) {  // no chunked in 1.0: delimit by closing
                framing.chunked = false;
                framing.keep_alive = keep = false;
            }
            append_response_head(out_, response, framing);
            bool ok = co_await stream_response(response, framing, head_only);
            co_return keep&& ok;
        }
        if (!no_body) framing.content_length = response.body.size();
        append_response_head(out_, response, framing);
        if (!head_only && !no_body) out_.append(response.body);
        co_return keep;
    }

    // The server's handler_timeout expired (the handler let its TimeoutError out).
    struct HandlerTimedOut {};

    // The handler inside the handler_timeout scope: HandlerTimedOut if that scope expired.
    Task<Response> run_handler_with_timeout(const Handler& handler) {
        auto scope = timeout(options_.handler_timeout);
        try {
            co_return co_await handler(request_);
        } catch (const TimeoutError& e) {
            if (e.scope() != &scope) throw;
        }
        throw HandlerTimedOut{};
    }

    // The handler left (some of) the body unread: skip it, unless that means asking a client
    // that waits for 100-continue for a body nobody wants (then close instead).
    Task<bool> skip_body() {
        try {
            for (;;) {
                if (piece_index_ >= pieces_.size() && !parser_.message_done() && begin_ == end_ &&
                    bb_begin_ == bb_end_ && RequestAccess::expect_continue(request_) && !continue_sent_)
                    co_return false;
                piece_index_ = pieces_.size();
                std::string_view piece = co_await next_piece();
                if (piece.empty()) co_return true;
            }
        } catch (const HttpError&) {
        }
        co_return false;
    }

    // Bytes of later requests that were read into body_buf_ go back to buf_ (no Request views
    // either buffer's old contents any more once the handler has returned).
    void restore_pipelined_bytes() {
        if (bb_begin_ == bb_end_) return;
        std::size_t n = bb_end_ - bb_begin_;
        // buf_ was exhausted before anything was read into body_buf_, so it is free.
        if (cap_ < n) {
            buf_.reset(new char[n]);
            cap_ = n;
        }
        std::memcpy(buf_.get(), body_buf_.get() + bb_begin_, n);
        begin_ = 0;
        end_ = n;
        bb_begin_ = bb_end_ = 0;
        // The next head began during the body read: its header_read_timeout counts from now,
        // not from the previous request's first byte (which would expire it at once).
        head_started_ = now();
    }

    Task<void> fill_body_buffer() {
        if (RequestAccess::expect_continue(request_) && !continue_sent_) {
            out_.append("HTTP/1.1 100 Continue\r\n\r\n");
            continue_sent_ = true;
        }
        co_await flush();  // earlier pipelined responses (and the 100) before we wait
        if (!body_buf_) body_buf_.reset(new char[kBodyBuffer]);
        bb_begin_ = bb_end_ = 0;
        std::size_t n = 0;
        bool timed_out = false;
        {
            auto scope = timeout(options_.body_read_timeout);
            try {
                n = co_await stream_.read(body_buf_.get(), kBodyBuffer);
            } catch (const TimeoutError& e) {
                if (e.scope() != &scope) throw;
                timed_out = true;
            }
        }
        if (timed_out) {
            body_failed_ = true;
            throw HttpError(408, "request body timed out");
        }
        if (n == 0) {
            body_failed_ = true;
            throw HttpError(400, "the client closed the connection before the end of the body");
        }
        bb_end_ = n;
    }

    class Writer final : public BodyWriter {
    public:
        Writer(Connection& c, bool chunked, bool discard) : c_(c), chunked_(chunked), discard_(discard) {}
        Task<void> write(std::string_view data) override {
            if (data.empty() || discard_) co_return;
            written += data.size();
            if (chunked_) {
                char hex[20];
                int n = std::snprintf(hex, sizeof hex, "%zx\r\n", data.size());
                c_.out_.append(hex, static_cast<std::size_t>(n));
            }
            if (data.size() < 16 * 1024) {
                c_.out_.append(data);
                if (chunked_) c_.out_.append("\r\n");
                if (c_.out_.size() >= kFlushAt) co_await c_.flush();
            } else {
                co_await c_.flush();
                std::size_t sent = 0;
                co_await c_.send(data.data(), data.size(), sent);
                if (chunked_) c_.out_.append("\r\n");
            }
        }
        std::uint64_t written = 0;

    private:
        Connection& c_;
        bool chunked_;
        bool discard_;
    };

    Task<bool> stream_response(Response& response, const HeadFraming& framing, bool head_only) {
        Writer writer(*this, framing.chunked, head_only);
        bool ok = true;
        try {
            co_await response.stream_body(writer);
        } catch (const CancelledError&) {
            throw;
        } catch (const IoError&) {
            throw;
        } catch (const std::exception& e) {
            spdlog::error("weft::http: response body writer for {} failed: {}", request_.target(), e.what());
            ok = false;
        }
        if (!ok) co_return false;  // a truncated body: only closing tells the client
        if (head_only) co_return true;
        if (framing.chunked) {
            out_.append("0\r\n\r\n");
        } else if (framing.content_length && writer.written != *framing.content_length) {
            spdlog::error("weft::http: response body for {} wrote {} bytes, Content-Length said {}", request_.target(),
                          writer.written, *framing.content_length);
            co_await flush();
            co_return false;
        }
        co_return true;
    }

    // Write by write, keeping what has not gone out: a flush interrupted by the handler's
    // timeout (it flushes earlier responses before a body read: fill_body_buffer) leaves out_
    // holding exactly the unsent rest, so the 503 then follows it and no byte goes out twice.
    // (Over TLS an interrupted write breaks the stream: the connection then just closes.)
    Task<void> flush() {
        if (out_.empty()) co_return;
        std::size_t sent = 0;
        try {
            co_await send(out_.data(), out_.size(), sent);
        } catch (...) {
            out_.erase(0, sent);
            throw;
        }
        out_.clear();
        if (out_.capacity() > 1024 * 1024) out_.shrink_to_fit();
    }

    // Writes data[sent, size), counting in `sent` what went out (for a caller interrupted by
    // an exception). send_timeout is an idle timeout, nginx's send_timeout: each write has
    // that long to make progress, however long the whole takes. When one makes none the client
    // is not reading: TimedOut, for this send and every later one (a handler may have caught
    // the first), and run() resets the connection.
    Task<void> send(const char* data, std::size_t size, std::size_t& sent) {
        if (send_timed_out_) throw_send_timed_out();
        if (sent >= size) co_return;
        {
            auto scope = timeout(options_.send_timeout);
            try {
                for (;;) {
                    sent += co_await stream_.write(data + sent, size - sent);
                    if (sent >= size) co_return;
                    // (If the deadline passed just as these bytes went, the next write raises.)
                    if (!scope.expired()) scope.reschedule(weft::detail::deadline_after(now(), options_.send_timeout));
                }
            } catch (const TimeoutError& e) {
                if (e.scope() != &scope) throw;
            }
        }
        send_timed_out();
    }

    // TLS: close_notify (and the FIN) before lingering, within send_timeout as any write.
    Task<void> send_close_notify() {
        if (send_timed_out_) throw_send_timed_out();
        {
            auto scope = timeout(options_.send_timeout);
            try {
                co_await stream_.shutdown();
                co_return;
            } catch (const TimeoutError& e) {
                if (e.scope() != &scope) throw;
            }
        }
        send_timed_out();
    }

    [[noreturn]] void send_timed_out() {
        send_timed_out_ = true;
        std::string peer;
        try {
            peer = tcp().peer_address().to_string();
        } catch (const Error&) {
            peer = "?";
        }
        spdlog::warn("weft::http: client {} took no bytes for send_timeout ({} ms): connection reset", peer,
                     options_.send_timeout.count());
        throw_send_timed_out();
    }

    [[noreturn]] static void throw_send_timed_out() {
        throw TimedOut(ETIMEDOUT, "weft::http: the client took nothing for send_timeout");
    }

    // After send_timeout: close with a reset, not a FIN. The kernel then drops what it still
    // holds for this client at once (a close would keep it queued for a peer that does not
    // read, and a TLS close would wait for it up to the Context's shutdown_timeout).
    void reset() noexcept {
        try {
            net::TcpStream& socket = tcp();
            socket.set_linger(true, 0);
            socket.close();
        } catch (const Error&) {
            // Already gone (the destructor closes what is left).
        }
    }

    net::TcpStream& tcp() {
        if constexpr (std::is_same_v<S, tls::Stream>) return stream_.tcp();
        else return stream_;
    }

    S stream_;
    Server::Impl& server_;
    const ServerOptions& options_;
    ConnectionNode* node_ = nullptr;
    RequestParser parser_;
    Request request_;
    std::size_t cap_;
    std::unique_ptr<char[]> buf_;
    std::size_t begin_ = 0, end_ = 0;
    std::unique_ptr<char[]> body_buf_;
    std::size_t bb_begin_ = 0, bb_end_ = 0;
    std::string out_;
    std::vector<std::string_view> pieces_;
    std::size_t piece_index_ = 0;
    std::uint64_t body_received_ = 0;
    Clock::time_point head_started_{};
    bool continue_sent_ = false;
    bool body_failed_ = false;
    bool send_timed_out_ = false;
};

/// A connection's task: registers with the server, serves, unregisters.
template <class S>
Task<void> serve_connection(Server::Impl& server, S stream) {
    ConnectionNode node(current_task());
    if (!server.enter(node)) co_return;
    {
        auto connection = std::make_unique<Connection<S>>(std::move(stream), server);
        co_await connection->run(node);
    }
    server.leave(node);
}

/// Answers a plain HTTP request that came to the TLS port with a 400 in plain text, then
/// closes as linger() does: half-close, then drop what the client still sends, for a while.
/// Any IoError ends it quietly; the caller's deadline bounds it.
inline Task<void> answer_plain_http_on_tls_port(net::TcpStream& tcp) {
    try {
        char drop[4096];
        co_await tcp.read(drop, sizeof drop);  // the request's start, so no reset hides the answer
        std::string out;
        append_simple_response(out, 400, "The plain HTTP request was sent to HTTPS port", false);
        co_await tcp.write_all(out);
        tcp.shutdown(net::ShutdownMode::write);
        auto scope = timeout(kLinger);
        for (std::size_t total = 0; total < kLingerBytes;) {
            std::size_t n = co_await tcp.read(drop, sizeof drop);
            if (n == 0) break;
            total += n;
        }
    } catch (const TimeoutError&) {
    } catch (const IoError&) {
    }
}

/// A TLS connection's task: registers, the handshake (within header_read_timeout), serves,
/// unregisters. It registers before the handshake, as idle: a graceful stop then cancels the
/// handshake at once (server_state.hpp, step 1) and waits for this task to leave, so nothing
/// here touches the server after serve() has returned (the Server may be gone by then).
inline Task<void> serve_tls_connection(Server::Impl& server, net::TcpStream tcp) {
    ConnectionNode node(current_task());
    node.state.store(kIdle);
    if (!server.enter(node)) co_return;
    std::optional<tls::Stream> stream;
    try {
        auto scope = timeout(server.options.header_read_timeout);
        // A TLS record starts with a byte below 0x20 (0x16 for the ClientHello); a plain HTTP
        // request (http:// where https:// was meant) with a method's letter. Such a client
        // gets nginx's plain-text 400, which says what is wrong; a failed handshake says nothing.
        char first = 0;
        if (co_await tcp.peek(&first, 1) == 1 && first >= 'A' && first <= 'Z') {
            co_await answer_plain_http_on_tls_port(tcp);
            server.leave(node);
            co_return;
        }
        tls::Stream s = co_await tls::Stream::accept(std::move(tcp), server.tls);
        stream.emplace(std::move(s));
    } catch (const CancelledError&) {
        // A stop (or header_read_timeout, a TimeoutError): the handshake is abandoned.
    } catch (const IoError&) {
        // Not TLS, a failed handshake, or gone.
    }
    // Idle -> busy, as loop() does after a read: if a stop got there first (closing), its
    // cancel is pending and we end without awaiting anything.
    int expected = kIdle;
    if (stream && node.state.compare_exchange_strong(expected, kBusy)) {
        auto connection = std::make_unique<Connection<tls::Stream>>(std::move(*stream), server);
        co_await connection->run(node);
    }
    stream.reset();
    server.leave(node);
}

}  // namespace weft::http::detail
