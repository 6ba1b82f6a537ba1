#include <weft/tls/stream.hpp>

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <string>
#include <utility>

#include <weft/detail/deadline_after.hpp>
#include <weft/error.hpp>
#include <weft/io_error.hpp>
#include <weft/run.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/timeout.hpp>

#include "openssl_error.hpp"
#include "stream_state.hpp"

namespace weft::tls {

using detail::StreamState;

namespace {

// The subject of the certificate the peer presented (RFC 2253, one line), "" if none.
std::string peer_subject_of(SSL* ssl) {
    X509* cert = SSL_get1_peer_certificate(ssl);
    if (!cert) return {};
    std::string subject;
    if (BIO* out = BIO_new(BIO_s_mem())) {
        if (X509_NAME_print_ex(out, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
            char* data = nullptr;
            long size = BIO_get_mem_data(out, &data);
            if (size > 0) subject.assign(data, static_cast<std::size_t>(size));
        }
        BIO_free(out);
    }
    X509_free(cert);
    return subject;
}

// Refuses a second concurrent reader (or writer); released when the operation ends.
class Exclusive {
public:
    Exclusive(std::atomic<bool>& flag, const char* what) : flag_(flag) {
        if (flag_.exchange(true, std::memory_order_acquire)) throw UsageError(what);
    }
    Exclusive(const Exclusive&) = delete;
    Exclusive& operator=(const Exclusive&) = delete;
    ~Exclusive() { flag_.store(false, std::memory_order_release); }

private:
    std::atomic<bool>& flag_;
};

void require_open(const StreamState& s) {
    if (s.closed.load(std::memory_order_relaxed) || !s.tcp.is_open()) throw UsageError("tls::Stream: stream is closed");
}

// Under the mutex, after queueing bytes in wbio: whether the caller now holds `sending` and
// must drain (stream_state.hpp: the rule that strands no bytes).
bool try_claim_sending(StreamState& s) {
    if (s.broken || BIO_ctrl_pending(s.wbio) == 0) return false;
    return s.sending.try_lock();
}

// Marks the stream broken and gives up `sending`: ciphertext was lost.
void abandon_sending(StreamState& s) noexcept {
    std::lock_guard lock(s.mutex);
    s.broken = true;
    s.sending.unlock();
}

// How a task comes to drain wbio.
enum class Sender {
    holder,  // it holds `sending` already (try_claim_sending() said so)
    writer,  // it waits for `sending`: the reader may hold it while sending a protocol reply,
             // and then sends this writer's records too. A cancelled wait breaks the stream,
             // as any cancelled write does.
};

// Drains wbio to tcp while holding `sending`: the task's own records and any the other task
// queued meanwhile, until wbio is empty; then the FIN if shutdown() asked for it, and unlocks
// `sending` (both under the mutex: stream_state.hpp). A failure or cancellation loses
// ciphertext: the stream is broken. (One coroutine for both ways in: one frame per write.)
Task<void> drain(StreamState& s, Sender sender) {
    if (sender == Sender::writer) {
        try {
            Lock::Guard held = co_await s.sending.lock();
            held.detach();  // unlocked below, under the mutex
        } catch (...) {
            std::lock_guard lock(s.mutex);
            s.broken = true;
            throw;
        }
    }
    try {
        for (;;) {
            std::size_t n = 0;
            {
                std::lock_guard lock(s.mutex);
                int got = s.broken ? 0 : BIO_read(s.wbio, s.out_buf.get(), static_cast<int>(detail::kOutChunk));
                if (got <= 0) {
                    if (std::exchange(s.fin_pending, false)) {
                        try {
                            s.tcp.shutdown(net::ShutdownMode::write);  // close_notify is out: FIN
                        } catch (const IoError&) {
                            // The peer is gone (ENOTCONN): nothing left to tell it.
                        }
                    }
                    s.sending.unlock();
                    co_return;
                }
                n = static_cast<std::size_t>(got);
            }
            co_await s.tcp.write_all(s.out_buf.get(), n);
        }
    } catch (...) {
        abandon_sending(s);
        throw;
    }
}

// Sends an alert OpenSSL queued before failing, if it can; the failure is what the caller
// reports, so a send error here is dropped.
Task<void> drain_alert(StreamState& s) {
    try {
        co_await drain(s, Sender::holder);
    } catch (const Error&) {
    }
}

// Sends close_notify if it can go out at once: one non-blocking send, never a wait. Only when
// nobody is sending, the handshake is done and nothing was lost. For a close that cannot wait
// (close_at_once).
void send_close_notify_now(StreamState& s) noexcept {
    std::lock_guard lock(s.mutex);
    if (s.broken || s.shut_down || !SSL_is_init_finished(s.ssl) || !s.sending.try_lock()) return;
    s.shut_down = true;
    try {
        ERR_clear_error();
        if (SSL_shutdown(s.ssl) >= 0) {
            int n = BIO_read(s.wbio, s.out_buf.get(), static_cast<int>(detail::kOutChunk));
            if (n > 0) s.tcp.try_write(s.out_buf.get(), static_cast<std::size_t>(n));
        }
    } catch (const Error&) {
        // The peer is gone: nothing to tell it.
    }
    ERR_clear_error();
    s.sending.unlock();
}

// Reads and drops what the kernel holds for us, without waiting. Closing a socket with unread
// bytes makes the kernel reset the connection and drop its send queue (RFC 2525 2.17): a TLS
// 1.3 client that never read has the server's NewSessionTickets there. Bounded, so a peer
// that keeps sending cannot hold the caller.
void discard_unread(int fd) noexcept {
    char scrap[4096];
    for (int i = 0; i < 256; ++i) {
        if (::recv(fd, scrap, sizeof scrap, MSG_DONTWAIT) <= 0) break;
    }
}

// Closes the socket now: the close_notify if it fits, the unread bytes dropped (so no reset,
// and the kernel still sends what is queued), then the descriptor. For close() outside a
// runtime or during its shutdown, and for a cancelled finish_close.
void close_at_once(StreamState& s) noexcept {
    if (!s.tcp.is_open()) return;
    send_close_notify_now(s);
    discard_unread(s.tcp.native_handle());
    s.tcp.close();
}

// Bytes sent (the FIN included) that the peer's TCP has not acknowledged yet; -1 once the
// connection is gone without them (reset).
long unacknowledged(int fd) noexcept {
    int queued = 0;
    if (::ioctl(fd, SIOCOUTQ, &queued) != 0) return -1;
    if (queued == 0) return 0;
    tcp_info info{};
    socklen_t size = sizeof info;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0 || info.tcpi_state == TCP_CLOSE) return -1;
    return queued;
}

// Feeds `n` bytes the peer sent while we close to OpenSSL and drops the plaintext (nobody
// reads any more). True once nothing more can come: the peer's close_notify, or a failure.
bool drop_incoming(StreamState& s, std::size_t n) {
    std::lock_guard lock(s.mutex);
    BIO_write(s.rbio, s.in_buf.get(), static_cast<int>(n));
    char plain[4096];
    for (;;) {
        std::size_t got = 0;
        ERR_clear_error();
        if (SSL_read_ex(s.ssl, plain, sizeof plain, &got) == 1) continue;
        int err = SSL_get_error(s.ssl, 0);
        ERR_clear_error();
        return err != SSL_ERROR_WANT_READ;
    }
}

// Waits until the peer's TCP has acknowledged every byte we sent, reading (and dropping) what
// the peer sends meanwhile, until its close_notify or end: unread bytes at close would reset
// the connection. Linux signals no "all acknowledged" event, so the queue is polled, at
// intervals from 1 ms growing to 50 ms, each one a read that returns early if bytes come.
// TimedOut if the deadline passes first, ConnectionReset if the connection is reset first.
Task<void> await_acknowledged(StreamState& s, Clock::time_point deadline) {
    constexpr std::chrono::milliseconds kLongestPoll{50};
    std::chrono::milliseconds poll{1};
    bool peer_done = s.tcp_eof;
    for (;;) {
        long left = unacknowledged(s.tcp.native_handle());
        if (left == 0) co_return;
        if (left < 0) {
            throw ConnectionReset(ECONNRESET,
                                  "tls::Stream::close: the connection was reset before the peer had every byte");
        }
        Clock::time_point at = now();
        if (at >= deadline) {
            throw TimedOut(ETIMEDOUT, "tls::Stream::close: the peer had not taken the last " + std::to_string(left) +
                                          " bytes within shutdown_timeout (" +
                                          std::to_string(s.context->shutdown_timeout.count()) + " ms)");
        }
        auto wait = std::min<Clock::duration>(poll, deadline - at);
        poll = std::min(poll * 2, kLongestPoll);
        if (peer_done) {
            co_await sleep_until(at + wait);
            continue;
        }
        std::size_t n = 0;
        bool waited_out = false;
        try {
            auto scope = timeout(wait);
            try {
                n = co_await s.tcp.read(s.in_buf.get(), detail::kInChunk);
            } catch (const TimeoutError& e) {
                if (e.scope() != &scope) throw;
                waited_out = true;
            }
        } catch (const IoError&) {
            peer_done = true;  // reset: the next unacknowledged() says whether it cost bytes
            continue;
        }
        if (waited_out) continue;
        if (n == 0) {
            s.tcp_eof = true;
            peer_done = true;
            continue;
        }
        peer_done = drop_incoming(s, n);
    }
}

// close()'s work, in a task of its own (asyncio's SSL transport closing in the background):
// close_notify and the FIN go out (waiting for room as a write does), then the socket stays
// open until the peer's TCP acknowledged every byte (await_acknowledged); both steps together
// at most shutdown_timeout; then it is closed (reset, if close_notify could not go out). Its outcome is what wait_closed() reports. Cancelled
// (the runtime shuts down), it closes the socket at once.
Task<void> finish_close(std::shared_ptr<StreamState> state) {
    StreamState& s = *state;
    std::exception_ptr failure;
    try {
        Clock::time_point deadline = weft::detail::deadline_after(now(), s.context->shutdown_timeout);
        {
            std::lock_guard lock(s.mutex);
            if (!s.broken && !s.shut_down) {
                s.shut_down = true;
                ERR_clear_error();
                if (SSL_shutdown(s.ssl) < 0) s.broken = true;  // then no close_notify; the FIN still
                ERR_clear_error();
            }
            s.fin_pending = true;  // (again after shutdown(): a second FIN is a no-op)
        }
        {
            // close_notify waits for room as a write does; a peer that reads nothing would
            // make that wait endless, so it shares the deadline, and then the socket is reset
            // (what is queued would never go).
            auto scope = timeout_at(deadline);
            try {
                co_await drain(s, Sender::writer);
            } catch (const TimeoutError& e) {
                if (e.scope() != &scope) throw;
                s.tcp.set_linger(true, 0);
                throw TimedOut(ETIMEDOUT, "tls::Stream::close: the peer took no more bytes within shutdown_timeout (" +
                                              std::to_string(s.context->shutdown_timeout.count()) +
                                              " ms): close_notify was not sent, the connection is reset");
            }
        }
        co_await await_acknowledged(s, deadline);
    } catch (const CancelledError&) {
        close_at_once(s);
        s.close_error = std::make_exception_ptr(
            IoError(ECANCELED, "tls::Stream::close: cancelled (runtime shutdown?) before the peer had every byte"));
        s.close_done.set();
        throw;
    } catch (...) {
        failure = std::current_exception();
    }
    discard_unread(s.tcp.native_handle());  // every byte arrived: this only spares the peer a reset
    s.tcp.close();
    s.close_error = failure;
    s.close_done.set();
}

Task<void> wait_closed_of(std::shared_ptr<StreamState> state) {
    if (!state) throw UsageError("tls::Stream::wait_closed: stream is closed (moved from, or never opened)");
    if (!state->closed.load(std::memory_order_acquire)) throw UsageError("tls::Stream::wait_closed before close()");
    co_await state->close_done.wait();
    if (state->close_error) std::rethrow_exception(state->close_error);
}

// "[::1]" -> "::1"; other names unchanged.
std::string strip_brackets(const std::string& name) {
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') return name.substr(1, name.size() - 2);
    return name;
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::shared_ptr<StreamState> new_state(net::TcpStream tcp, const std::shared_ptr<const detail::ContextState>& ctx,
                                       const char* who) {
    auto state = std::make_shared<StreamState>(std::move(tcp), ctx);
    ERR_clear_error();
    state->ssl = SSL_new(ctx->ctx);
    if (!state->ssl) detail::throw_tls_error(std::string(who) + ": SSL_new");
    state->rbio = BIO_new(BIO_s_mem());
    state->wbio = BIO_new(BIO_s_mem());
    if (!state->rbio || !state->wbio) {
        BIO_free(state->rbio);
        BIO_free(state->wbio);
        detail::throw_tls_error(std::string(who) + ": BIO_new");
    }
    SSL_set_bio(state->ssl, state->rbio, state->wbio);  // the SSL owns them from here
    return state;
}

// Drives SSL_do_handshake: send what it queued, feed it what the peer sends, until done.
Task<void> handshake(StreamState& s, const char* who) {
    for (;;) {
        int err = SSL_ERROR_NONE;
        std::string failure;
        long verify = X509_V_OK;
        bool flush_now = false;
        {
            std::lock_guard lock(s.mutex);
            ERR_clear_error();
            int r = SSL_do_handshake(s.ssl);
            if (r != 1) {
                err = SSL_get_error(s.ssl, r);
                if (err != SSL_ERROR_WANT_READ) {
                    failure = detail::take_openssl_errors("the connection failed");
                    verify = SSL_get_verify_result(s.ssl);
                }
            }
            flush_now = try_claim_sending(s);  // no other task has the stream yet: succeeds
        }
        if (flush_now) {
            if (failure.empty()) {
                co_await drain(s, Sender::holder);
            } else {
                co_await drain_alert(s);
            }
        }
        if (err == SSL_ERROR_NONE) {
            const unsigned char* proto = nullptr;
            unsigned length = 0;
            SSL_get0_alpn_selected(s.ssl, &proto, &length);
            if (proto) s.alpn.assign(reinterpret_cast<const char*>(proto), length);
            s.peer_subject = peer_subject_of(s.ssl);
            co_return;
        }
        if (err != SSL_ERROR_WANT_READ) {
            // (Without verification the result is computed but not enforced: not the cause.)
            if (s.context->client && s.context->verify && verify != X509_V_OK) {
                throw CertificateError(s.host, verify, X509_verify_cert_error_string(verify));
            }
            throw TlsError(std::string(who) + ": TLS handshake failed: " + failure);
        }
        std::size_t n = co_await s.tcp.read(s.in_buf.get(), detail::kInChunk);
        if (n == 0) {
            throw TlsError(std::string(who) + ": the peer closed the connection during the TLS handshake");
        }
        std::lock_guard lock(s.mutex);
        BIO_write(s.rbio, s.in_buf.get(), static_cast<int>(n));
    }
}

}  // namespace

detail::StreamState::~StreamState() {
    if (ssl && SSL_is_init_finished(ssl)) close_at_once(*this);
    SSL_free(ssl);  // frees both BIOs
}

Stream::Stream() noexcept = default;
Stream::Stream(Stream&&) noexcept = default;
Stream& Stream::operator=(Stream&& other) noexcept {
    if (this != &other) {
        close();
        state_ = std::move(other.state_);
    }
    return *this;
}
Stream::~Stream() { close(); }
Stream::Stream(std::shared_ptr<StreamState> state) noexcept : state_(std::move(state)) {}

StreamState& Stream::require_state() const {
    if (!state_) throw UsageError("tls::Stream: stream is closed");
    return *state_;
}

Task<Stream> Stream::connect(net::TcpStream tcp, Context ctx, std::string server_name) {
    if (!ctx.state_) throw UsageError("tls::Stream::connect: the Context is empty");
    if (!ctx.state_->client) throw UsageError("tls::Stream::connect needs a client Context (Context::client())");
    if (!tcp.is_open()) throw UsageError("tls::Stream::connect: the TcpStream is closed");
    if (ctx.state_->verify && server_name.empty()) {
        throw UsageError("tls::Stream::connect: a server_name is needed to verify the certificate");
    }
    auto state = new_state(std::move(tcp), ctx.state_, "tls::Stream::connect");
    SSL* ssl = state->ssl;
    SSL_set_connect_state(ssl);
    std::string host = strip_brackets(server_name);
    bool ip = is_ip_literal(host);
    // RFC 6066: SNI carries host names only, never an address.
    if (!ip && !host.empty() && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
        detail::take_openssl_errors();
        throw UsageError("tls::Stream::connect: '" + server_name + "' is not a valid server name");
    }
    if (ctx.state_->verify) {
        int ok = 0;
        if (ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
        } else {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(ssl, host.c_str());
        }
        if (ok != 1) {
            detail::take_openssl_errors();
            throw UsageError("tls::Stream::connect: '" + server_name + "' is not a valid server name");
        }
    }
    state->host = std::move(server_name);
    co_await handshake(*state, "tls::Stream::connect");
    co_return Stream(std::move(state));
}

Task<Stream> Stream::accept(net::TcpStream tcp, Context ctx) {
    if (!ctx.state_) throw UsageError("tls::Stream::accept: the Context is empty");
    if (ctx.state_->client) throw UsageError("tls::Stream::accept needs a server Context (Context::server())");
    if (!tcp.is_open()) throw UsageError("tls::Stream::accept: the TcpStream is closed");
    auto state = new_state(std::move(tcp), ctx.state_, "tls::Stream::accept");
    SSL_set_accept_state(state->ssl);
    co_await handshake(*state, "tls::Stream::accept");
    co_return Stream(std::move(state));
}

Task<std::size_t> Stream::read(void* data, std::size_t size) {
    StreamState& s = require_state();
    require_open(s);
    Exclusive reader(s.reading, "tls::Stream::read: another task is reading this stream");
    if (size == 0) co_return 0;
    for (;;) {
        std::size_t got = 0;
        int err = SSL_ERROR_NONE;
        std::string failure;
        bool flush_now = false;
        {
            std::lock_guard lock(s.mutex);
            ERR_clear_error();
            if (SSL_read_ex(s.ssl, data, size, &got) != 1) {
                err = SSL_get_error(s.ssl, 0);
                if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_ZERO_RETURN) {
                    failure = detail::take_openssl_errors("the connection failed");
                }
            }
            // Reading can queue bytes for the peer (a KeyUpdate reply, an alert). If the
            // writer is sending, it sends them after its own; the reader never waits for it.
            flush_now = try_claim_sending(s);
        }
        if (flush_now) {
            if (failure.empty()) {
                co_await drain(s, Sender::holder);
            } else {
                co_await drain_alert(s);
            }
        }
        if (err == SSL_ERROR_NONE) co_return got;
        if (err == SSL_ERROR_ZERO_RETURN) co_return 0;  // close_notify
        if (err != SSL_ERROR_WANT_READ) throw TlsError("tls::Stream::read: " + failure);
        if (s.tcp_eof) {
            throw UnexpectedEof("tls::Stream::read: the peer closed the connection without TLS close_notify");
        }
        std::size_t n = co_await s.tcp.read(s.in_buf.get(), detail::kInChunk);
        if (n == 0) {
            s.tcp_eof = true;
            throw UnexpectedEof("tls::Stream::read: the peer closed the connection without TLS close_notify");
        }
        std::lock_guard lock(s.mutex);
        BIO_write(s.rbio, s.in_buf.get(), static_cast<int>(n));
    }
}

Task<std::size_t> Stream::write(const void* data, std::size_t size) {
    StreamState& s = require_state();
    require_open(s);
    Exclusive writer(s.writing, "tls::Stream::write: another task is writing this stream");
    if (size == 0) co_return 0;
    std::size_t written = 0;
    {
        std::lock_guard lock(s.mutex);
        if (s.shut_down) throw UsageError("tls::Stream::write: the stream was shut down");
        if (s.broken) throw TlsError("tls::Stream::write: an earlier write failed or was cancelled mid-record");
        ERR_clear_error();
        if (SSL_write_ex(s.ssl, data, std::min(size, detail::kMaxWrite), &written) != 1) {
            s.broken = true;
            throw TlsError("tls::Stream::write: " + detail::take_openssl_errors("the connection failed"));
        }
    }
    co_await drain(s, Sender::writer);
    co_return written;
}

Task<std::size_t> Stream::write_all(const void* data, std::size_t size) {
    const char* bytes = static_cast<const char*>(data);
    std::size_t done = 0;
    while (done < size) {
        std::size_t n = co_await write(bytes + done, size - done);
        done += n;
    }
    co_return size;
}

Task<void> Stream::shutdown() {
    StreamState& s = require_state();
    require_open(s);
    Exclusive writer(s.writing, "tls::Stream::shutdown: another task is writing this stream");
    {
        std::lock_guard lock(s.mutex);
        if (s.shut_down) co_return;
        if (s.broken) throw TlsError("tls::Stream::shutdown: an earlier write failed or was cancelled mid-record");
        s.shut_down = true;
        ERR_clear_error();
        // 0: close_notify queued (the peer's not seen yet), 1: both sent; we do not wait.
        if (SSL_shutdown(s.ssl) < 0) {
            s.broken = true;
            throw TlsError("tls::Stream::shutdown: " + detail::take_openssl_errors("the connection failed"));
        }
        s.fin_pending = true;
    }
    co_await drain(s, Sender::writer);
}

void Stream::close() noexcept {
    if (!state_ || state_->closed.exchange(true, std::memory_order_acq_rel)) return;
    StreamState& s = *state_;
    if (s.tcp.is_open() && !weft::detail::current_runtime_shutting_down()) {
        try {
            spawn(finish_close(state_)).detach();
            return;
        } catch (...) {
            // Not in a runtime (or out of memory): nobody could wait for the peer.
        }
    }
    close_at_once(s);
    s.close_done.set();
}

Task<void> Stream::wait_closed() { return wait_closed_of(state_); }

bool Stream::is_open() const noexcept {
    return state_ && !state_->closed.load(std::memory_order_relaxed) && state_->tcp.is_open();
}

std::string_view Stream::alpn_protocol() const noexcept { return state_ ? std::string_view(state_->alpn) : ""; }

std::string_view Stream::peer_subject() const noexcept { return state_ ? std::string_view(state_->peer_subject) : ""; }

std::string_view Stream::protocol_version() const noexcept { return state_ ? SSL_get_version(state_->ssl) : ""; }

net::TcpStream& Stream::tcp() { return require_state().tcp; }

ssl_st* Stream::native_handle() const noexcept { return state_ ? state_->ssl : nullptr; }

}  // namespace weft::tls
