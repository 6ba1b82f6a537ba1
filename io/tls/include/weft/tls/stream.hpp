// weft::tls::Stream: a TLS connection over a weft::net::TcpStream (asyncio's start_tls /
// ssl= streams, Tokio's tokio-rustls / tokio-native-tls TlsStream), OpenSSL underneath.
//
//   auto ctx = weft::tls::Context::client();                  // make once, share
//   auto tcp = co_await weft::net::TcpStream::connect("example.com", 443);
//   auto tls = co_await weft::tls::Stream::connect(std::move(tcp), ctx, "example.com");
//   co_await tls.write_all(request.data(), request.size());
//   weft::net::StreamReader reader(std::move(tls));           // any reader/writer helper works
//   std::string head = co_await reader.read_until("\r\n\r\n");
//
//   // an upload (another stream): write, then close without losing a byte
//   co_await upload.write_all(body.data(), body.size());
//   upload.close();                    // returns at once; the close goes on in a task
//   co_await upload.wait_closed();     // until the peer has every byte (or TimedOut...)
//
//   // server: per accepted connection
//   auto tls = co_await weft::tls::Stream::accept(std::move(tcp), server_ctx);
//
// How it works: OpenSSL never touches the socket. It reads ciphertext from a memory BIO that
// this class fills from the TcpStream, and writes ciphertext into a memory BIO that this
// class drains to the TcpStream with write_all. So every wait is the TcpStream's (on the
// worker's reactor) and every await is a cancellation point; OpenSSL's calls themselves never
// block.
//
// Concurrency: one task may read while another writes (as with TcpStream); two readers or two
// writers at once is UsageError. The SSL object is not thread-safe, so each OpenSSL call runs
// in a short critical section (a mutex held only around the call, never across an await);
// the socket I/O happens outside it. Ciphertext leaves through one task at a time (a
// weft::Lock on the send side): a read that produced protocol bytes (a TLS 1.3 KeyUpdate
// reply, an alert) while the writer is sending leaves them to the writer, which sends them
// after its own; a write that finds the reader sending such bytes waits for it (the reader
// sends the write's records too), so write() returns only once its records are in the
// kernel and a slow peer holds the writer back, as with TcpStream.
// Renegotiation (TLS 1.2) is refused, so a write never needs to read.
//
// End of stream: read() returns 0 once the peer's close_notify arrived. A TCP end of stream
// without close_notify is weft::UnexpectedEof (a truncation: a peer, or an attacker, cut
// the stream), as Python's ssl raises SSLEOFError with suppress_ragged_eofs off; HTTP/1.1
// frames its bodies, so an HTTP client can catch it where the body was complete. shutdown() sends close_notify and then
// the TCP FIN, waiting for the socket as a write does (the read side stays open, so the peer
// can still answer).
// close() (and the destructor, and StreamWriter's close) never loses what write() reported
// sent. It returns at once and a task of its own finishes the close, as asyncio's SSL
// transport does in the background: it sends close_notify (unless shutdown() did; not after
// a failed write) and the FIN, then keeps the socket open, reading and dropping whatever the
// peer still sends (its close_notify, application data nobody will read), until the peer's
// TCP has acknowledged every byte, at most the Context's shutdown_timeout (30 s by default,
// asyncio's ssl_shutdown_timeout); then it closes the socket. Why: closing a socket that has
// unread bytes makes the kernel reset the connection and drop what is still queued for the
// peer, and a TLS 1.3 client that only writes always has some (the server's session tickets);
// a server may have an unread request. wait_closed() waits for that end and says whether
// every byte reached the peer's TCP: TimedOut if the peer took too long, ConnectionReset if
// it reset the connection first. Outside a runtime, or while the runtime shuts down (which
// cancels closing tasks too), close() closes at once: close_notify if it fits without
// waiting, the unread bytes dropped (so no reset), then the socket (the kernel still sends
// what is queued). To cut a stream on purpose (tests), close tcp().
//
// Cancellation (timeout(), wait_for(), cancel()):
//   connect()/accept(): the TcpStream is closed with the half-made connection.
//   read(): cancelled while waiting for the peer's bytes (the usual case), nothing is lost and
//       the stream stays usable, as TcpStream's read. Cancelled while it was sending a
//       protocol reply (rare), the stream is broken: later writes throw TlsError.
//   write(), write_all(), shutdown(): the records may be partly sent, so the stream is broken
//       (later writes throw TlsError): close it. The same after any failed write.
//   wait_closed(): the close goes on in its own task; only the wait ends.
// Errors: TlsError (protocol failure: OpenSSL's reason), CertificateError (connect() only),
// UnexpectedEof (see above), the TcpStream's IoErrors (ConnectionReset, BrokenPipe...).
// Operations on a closed or moved-from stream throw UsageError "stream is closed".
// Resumes on the worker loop the TcpStream is registered with, as TcpStream does.
//
// Where weft differs from Python (ssl / asyncio's start_tls and ssl= streams):
//  - TLS goes on a connected TcpStream (asyncio's loop.start_tls); Python's
//    open_connection(ssl=ctx) is TcpStream::connect followed by Stream::connect.
//  - shutdown() sends close_notify and returns; it does not wait for the peer's (asyncio's
//    close() + wait_closed() and SSLSocket.unwrap() do, up to ssl_shutdown_timeout).
//  - close() + wait_closed() wait until the peer's TCP acknowledged every byte, not for
//    the peer's close_notify as asyncio does: a weft peer answers close_notify only when its
//    code reads, so waiting for it could wait out the timeout.
//  - A TCP end without close_notify is UnexpectedEof, where SSLSocket's default
//    (suppress_ragged_eofs=True) reads it as end of stream: a truncation must not pass for
//    a complete message.
//  - Not supported: session resumption across connections,
//    renegotiation, TLS 1.0/1.1, early data.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include <weft/net/tcp_stream.hpp>
#include <weft/task.hpp>
#include <weft/tls/certificate_error.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/tls_error.hpp>

struct ssl_st;  // OpenSSL's SSL

namespace weft::tls {

namespace detail {
struct StreamState;
}

class Stream {
public:
    /// A closed stream; every operation but close() throws UsageError.
    Stream() noexcept;
    Stream(Stream&&) noexcept;
    Stream& operator=(Stream&&) noexcept;
    ~Stream();

    /// The client handshake over `tcp` with a client Context. `server_name` is sent as SNI
    /// (unless it is an IP literal) and, when ctx verifies, the certificate must match it
    /// (DNS name, or IP address for "127.0.0.1" / "::1" / "[::1]"). UsageError: a server
    /// Context, or an empty server_name with verification on (Python's ValueError).
    static Task<Stream> connect(net::TcpStream tcp, Context ctx, std::string server_name);
    /// The server handshake over an accepted `tcp`, with a server Context. A client that never
    /// speaks keeps it waiting: put a timeout() around it.
    static Task<Stream> accept(net::TcpStream tcp, Context ctx);

    /// Up to `size` decrypted bytes as soon as any are available; 0 once the peer's
    /// close_notify arrived (and for size 0).
    Task<std::size_t> read(void* data, std::size_t size);
    /// Encrypts and sends some of the bytes (up to one 16 KiB record); returns how many.
    Task<std::size_t> write(const void* data, std::size_t size);
    /// Encrypts and sends every byte (returns size).
    Task<std::size_t> write_all(const void* data, std::size_t size);
    Task<std::size_t> write_all(std::string_view text) { return write_all(text.data(), text.size()); }
    /// Sends close_notify (and then the TCP FIN); reading stays possible. Writing afterwards is
    /// UsageError; a second shutdown() does nothing.
    Task<void> shutdown();
    /// Starts the close (header comment): close_notify, and the socket is closed once the
    /// peer has every byte or shutdown_timeout passed. Returns at once; is_open() is then
    /// false. Not while another task awaits this stream. A second close() does nothing.
    void close() noexcept;
    /// After close(): waits until the socket is closed (at most the Context's
    /// shutdown_timeout); returns normally if the peer's TCP acknowledged every byte sent.
    /// TimedOut (the peer did not take them in time), ConnectionReset (it reset the
    /// connection), IoError ECANCELED (the runtime shut down first) otherwise. UsageError
    /// before close(), or on a moved-from stream. Any number of tasks may wait.
    Task<void> wait_closed();
    bool is_open() const noexcept;

    /// The protocol ALPN selected ("http/1.1"), "" if none.
    std::string_view alpn_protocol() const noexcept;
    /// "TLSv1.3" or "TLSv1.2".
    std::string_view protocol_version() const noexcept;
    /// The subject of the certificate the peer presented, RFC 2253 ("CN=alice,O=example"):
    /// for a client, the server's; for a server that asks for client certificates
    /// (ClientAuth), the client's, verified against its client_ca_file. "" if the peer sent
    /// none.
    std::string_view peer_subject() const noexcept;
    /// The TCP connection underneath (addresses, nodelay). Reading or writing it directly
    /// corrupts the TLS stream; after close() it belongs to the closing task.
    net::TcpStream& tcp();
    /// The SSL object, for what this API does not cover (peer certificate, cipher). Call it
    /// only while no read or write is in progress.
    ssl_st* native_handle() const noexcept;

private:
    explicit Stream(std::shared_ptr<detail::StreamState> state) noexcept;
    detail::StreamState& require_state() const;

    // On the heap (its mutex must not move), shared with the task that finishes close().
    std::shared_ptr<detail::StreamState> state_;
};

}  // namespace weft::tls
