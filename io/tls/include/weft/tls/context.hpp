// weft::tls::Context: the configuration TLS connections are made with (an SSL_CTX): trusted
// CAs and verification for a client, certificate and key for a server, ALPN protocols.
//
//   auto client = weft::tls::Context::client();                         // system CA store
//   auto test = weft::tls::Context::client({.ca_file = "ca.pem"});      // trust this CA only
//   auto server = weft::tls::Context::server("cert.pem", "key.pem");
//
// Make one Context and share it: it is a shared_ptr to an immutable SSL_CTX, cheap to copy
// and safe to use from every worker at once (OpenSSL's SSL_CTX is thread-safe once set up).
// Both sides speak TLS 1.2 and 1.3 only, refuse renegotiation and offer (client) or select
// (server) ALPN "http/1.1" by default. A client verifies the server's certificate chain and
// its name (Stream::connect's server_name) unless `verify` is false, like Python's
// ssl.create_default_context(); the system store is Debian's /etc/ssl/certs
// (ca-certificates), through SSL_CTX_set_default_verify_paths, so SSL_CERT_FILE and
// SSL_CERT_DIR override it as they do for the openssl command.
// A server does not ask for client certificates.
//
// Errors: a certificate, key or CA file that cannot be loaded (missing, unreadable, not PEM,
// key not matching the certificate) is TlsError naming the path, with OpenSSL's reason; an
// ALPN protocol name that is empty or longer than 255 bytes is UsageError.
#pragma once

#include <memory>
#include <string>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace weft::tls {

namespace detail {
struct ContextState;
}

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
};

struct ServerOptions {
    /// ALPN protocols the server accepts, most preferred first. The first of these the client
    /// offers is selected; none in common (or a client without ALPN): the handshake goes on
    /// without ALPN (alpn_protocol() == ""), as Python's ssl and nginx do. Empty: ALPN off.
    std::vector<std::string> alpn = default_alpn();
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
