// weft::tls::Context: the configuration TLS connections are made with (an SSL_CTX): trusted
// CAs and verification for a client, certificate and key for a server, ALPN protocols.
//
//   auto client = weft::tls::Context::client();                         // system CA store
//   auto test = weft::tls::Context::client({.ca_file = "ca.pem"});      // trust this CA only
//   auto server = weft::tls::Context::server("cert.pem", "key.pem");
//   // Mutual TLS: the server requires a certificate from its clients' CA, a client shows one.
//   auto mtls = weft::tls::Context::server("cert.pem", "key.pem",
//                                          {.client_auth = weft::tls::ClientAuth::required,
//                                           .client_ca_file = "clients_ca.pem"});
//   auto me = weft::tls::Context::client({.cert_file = "me.pem", .key_file = "me.key"});
//
// Make one Context and share it: it is a shared_ptr to an immutable SSL_CTX, cheap to copy
// and safe to use from every worker at once (OpenSSL's SSL_CTX is thread-safe once set up).
// Both sides speak TLS 1.2 and 1.3 only, refuse renegotiation and offer (client) or select
// (server) ALPN "http/1.1" by default. A client verifies the server's certificate chain and
// its name (Stream::connect's server_name) unless `verify` is false, like Python's
// ssl.create_default_context(); the system store is Debian's /etc/ssl/certs
// (ca-certificates), through SSL_CTX_set_default_verify_paths, so SSL_CERT_FILE and
// SSL_CERT_DIR override it as they do for the openssl command.
// Client certificates (mutual TLS, Python's load_cert_chain on a client context and
// verify_mode on a server's): a server asks for them only when client_auth says so, and
// verifies what it gets against client_ca_file (which it also names to the client as the CAs
// it accepts); Stream::peer_subject() then says whom it talks to. With `required`, a client
// without a valid certificate fails: the server's accept() throws TlsError; in TLS 1.3 the
// client's connect() has already returned by then, and the refusal reaches the client as a
// TlsError from its first read. A client presents its certificate only to a server that asks.
//
// Errors: a certificate, key or CA file that cannot be loaded (missing, unreadable, not PEM,
// key not matching the certificate) is TlsError naming the path, with OpenSSL's reason; an
// ALPN protocol name that is empty or longer than 255 bytes, a cert_file without key_file (or
// the reverse), client_auth without client_ca_file (or the reverse), and a shutdown_timeout
// that is not positive are UsageError.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace weft::tls {

namespace detail {
struct ContextState;
}

/// How long a Stream's close() waits for the peer to take the bytes still queued for it
/// (asyncio's ssl_shutdown_timeout, 30 s by default too). See stream.hpp, "End of stream".
inline constexpr std::chrono::milliseconds kDefaultShutdownTimeout{30'000};

/// {"http/1.1"}: the ALPN list both sides use by default. (A function, not a braced list in
/// the member initializers: g++ 12 fails on those when the options are built inside a
/// co_await expression, "array used as initializer".)
inline std::vector<std::string> default_alpn() { return {"http/1.1"}; }

struct ClientOptions {
    /// Verify the server's certificate chain and name. false: accept any certificate (tests
    /// against a self-signed server only: the connection is then open to impersonation).
    bool verify = true;
    /// A PEM file of the CAs to trust instead of the system store; empty: the system store.
    std::string ca_file{};
    /// ALPN protocols offered, most preferred first; empty: no ALPN extension.
    std::vector<std::string> alpn = default_alpn();
    /// A client certificate chain (PEM: the leaf first) and its private key (PEM), shown to a
    /// server that asks for one (mutual TLS). Both or neither.
    std::string cert_file{};
    std::string key_file{};
    /// close(): the longest wait for the server to take what is still queued for it
    /// (asyncio's ssl_shutdown_timeout). Must be positive.
    std::chrono::milliseconds shutdown_timeout = kDefaultShutdownTimeout;
};

/// Whether a server asks its clients for certificates (mutual TLS).
enum class ClientAuth {
    none,      // not asked for (the default)
    optional,  // asked for; one that is sent must verify, a client may send none
    required,  // a client without a certificate that verifies fails the handshake
};

struct ServerOptions {
    /// ALPN protocols the server accepts, most preferred first. The first of these the client
    /// offers is selected; none in common (or a client without ALPN): the handshake goes on
    /// without ALPN (alpn_protocol() == ""), as Python's ssl and nginx do. Empty: ALPN off.
    std::vector<std::string> alpn = default_alpn();
    /// Client certificates: see ClientAuth. Not `none` needs client_ca_file.
    ClientAuth client_auth = ClientAuth::none;
    /// A PEM file of the CAs client certificates must chain to (and that the server names to
    /// its clients as acceptable).
    std::string client_ca_file{};
    /// close(): the longest wait for the client to take what is still queued for it
    /// (asyncio's ssl_shutdown_timeout). Must be positive.
    std::chrono::milliseconds shutdown_timeout = kDefaultShutdownTimeout;
};

class Context {
public:
    /// No configuration: connecting or accepting with it is UsageError. For a member
    /// assigned later.
    Context() noexcept = default;
    /// A client context (see ClientOptions).
    static Context client(ClientOptions options = {});
    /// A server context with the certificate chain `cert_file` (PEM: the leaf first, then its
    /// intermediates) and its private key `key_file` (PEM).
    static Context server(const std::string& cert_file, const std::string& key_file, ServerOptions options = {});

    /// False for a default-constructed Context.
    explicit operator bool() const noexcept { return state_ != nullptr; }
    bool is_client() const noexcept;
    /// The SSL_CTX, to tune what this API does not cover (ciphers, session cache...) before
    /// the first connection. Owned by the Context.
    ssl_ctx_st* native_handle() const noexcept;

private:
    explicit Context(std::shared_ptr<const detail::ContextState> state) noexcept : state_(std::move(state)) {}
    friend class Stream;

    std::shared_ptr<const detail::ContextState> state_;
};

}  // namespace weft::tls
