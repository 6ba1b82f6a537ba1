#include <weft/tls/context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>

#include <weft/error.hpp>
#include <weft/tls/tls_error.hpp>

#include "context_state.hpp"
#include "openssl_error.hpp"

namespace weft::tls {

namespace {

// ALPN's wire format: each name prefixed by its length (RFC 7301).
std::string alpn_wire_format(const std::vector<std::string>& protocols) {
    std::string wire;
    for (const auto& name : protocols) {
        if (name.empty() || name.size() > 255) {
            throw UsageError("tls::Context: an ALPN protocol name must be 1 to 255 bytes, got \"" + name + "\"");
        }
        wire += static_cast<char>(name.size());
        wire += name;
    }
    return wire;
}

std::shared_ptr<detail::ContextState> new_state(bool client, std::chrono::milliseconds shutdown_timeout) {
    const char* who = client ? "tls::Context::client" : "tls::Context::server";
    if (shutdown_timeout <= std::chrono::milliseconds::zero())
        throw UsageError(std::string(who) +
                         ": shutdown_timeout must be positive (asyncio's ssl_shutdown_timeout), got " +
                         std::to_string(shutdown_timeout.count()) + " ms");
    ERR_clear_error();
    auto state = std::make_shared<detail::ContextState>();
    state->client = client;
    state->shutdown_timeout = shutdown_timeout;
    state->ctx = SSL_CTX_new(client ? TLS_client_method() : TLS_server_method());
    if (!state->ctx) detail::throw_tls_error("tls::Context: SSL_CTX_new");
    SSL_CTX_set_min_proto_version(state->ctx, TLS1_2_VERSION);
    // A write must never have to read (stream.hpp): no renegotiation, ever.
    SSL_CTX_set_options(state->ctx, SSL_OP_NO_RENEGOTIATION);
    // Records are copied out of the memory BIO before they are sent: the buffer given to
    // SSL_write need not stay put across a retry.
    SSL_CTX_set_mode(state->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return state;
}

// The server's ALPN choice: the first of its protocols the client offers. None in common: go
// on without ALPN (SSL_TLSEXT_ERR_NOACK), as Python's ssl does; RFC 7301 section 3.2 (and
// nginx) would refuse the handshake with alert 120, but a client that needs a protocol can
// see none was chosen and close, and one that offers extras still gets served.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned inlen,
                void* arg) {
    const auto* state = static_cast<const detail::ContextState*>(arg);
    const auto* ours = reinterpret_cast<const unsigned char*>(state->alpn_wire.data());
    unsigned char* chosen = nullptr;
    if (SSL_select_next_proto(&chosen, outlen, ours, static_cast<unsigned>(state->alpn_wire.size()), in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = chosen;
    return SSL_TLSEXT_ERR_OK;
}

// Loads a certificate chain and its key into `ctx`, checking that they match.
void use_certificate(SSL_CTX* ctx, const std::string& who, const std::string& cert_file, const std::string& key_file) {
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
        detail::throw_tls_error(who + ": cannot load the certificate chain '" + cert_file + "'");
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        detail::throw_tls_error(who + ": cannot load the private key '" + key_file + "'");
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        detail::throw_tls_error(who + ": the private key '" + key_file + "' does not match the certificate '" +
                                cert_file + "'");
    }
}

}  // namespace

Context Context::client(ClientOptions options) {
    if (options.cert_file.empty() != options.key_file.empty())
        throw UsageError("tls::Context::client: a client certificate needs both cert_file and key_file");
    auto state = new_state(true, options.shutdown_timeout);
    state->verify = options.verify;
    if (options.verify) {
        SSL_CTX_set_verify(state->ctx, SSL_VERIFY_PEER, nullptr);
        if (options.ca_file.empty()) {
            if (SSL_CTX_set_default_verify_paths(state->ctx) != 1) {
                detail::throw_tls_error("tls::Context::client: cannot load the system CA store");
            }
        } else if (SSL_CTX_load_verify_locations(state->ctx, options.ca_file.c_str(), nullptr) != 1) {
            detail::throw_tls_error("tls::Context::client: cannot load CA file '" + options.ca_file + "'");
        }
    } else {
        SSL_CTX_set_verify(state->ctx, SSL_VERIFY_NONE, nullptr);
    }
    if (!options.cert_file.empty())
        use_certificate(state->ctx, "tls::Context::client", options.cert_file, options.key_file);
    if (!options.alpn.empty()) {
        std::string wire = alpn_wire_format(options.alpn);
        // Returns 0 on success (unlike most of OpenSSL).
        if (SSL_CTX_set_alpn_protos(state->ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                    static_cast<unsigned>(wire.size())) != 0) {
            detail::throw_tls_error("tls::Context::client: SSL_CTX_set_alpn_protos");
        }
    }
    return Context(std::move(state));
}

Context Context::server(const std::string& cert_file, const std::string& key_file, ServerOptions options) {
    if ((options.client_auth == ClientAuth::none) != options.client_ca_file.empty())
        throw UsageError(
            options.client_ca_file.empty()
                ? "tls::Context::server: client_auth needs client_ca_file (the CAs client certificates must chain to)"
                : "tls::Context::server: client_ca_file is set but client_auth is none (set optional or required)");
    auto state = new_state(false, options.shutdown_timeout);
    use_certificate(state->ctx, "tls::Context::server", cert_file, key_file);
    // Sessions are resumed only within this id's context; with client certificates verified,
    // OpenSSL fails a resumption handshake outright when none is set (curl and browsers resume).
    static constexpr unsigned char kSessionContext[] = {'w', 'e', 'f', 't'};
    if (SSL_CTX_set_session_id_context(state->ctx, kSessionContext, sizeof kSessionContext) != 1)
        detail::throw_tls_error("tls::Context::server: SSL_CTX_set_session_id_context");
    if (options.client_auth != ClientAuth::none) {
        const std::string& ca = options.client_ca_file;
        if (SSL_CTX_load_verify_locations(state->ctx, ca.c_str(), nullptr) != 1)
            detail::throw_tls_error("tls::Context::server: cannot load client CA file '" + ca + "'");
        // The CAs named in the CertificateRequest, so a client with several certificates picks.
        STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str());
        if (!names) detail::throw_tls_error("tls::Context::server: cannot read the CA names in '" + ca + "'");
        SSL_CTX_set_client_CA_list(state->ctx, names);  // (takes ownership)
        int mode = SSL_VERIFY_PEER;
        if (options.client_auth == ClientAuth::required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        SSL_CTX_set_verify(state->ctx, mode, nullptr);
    }
    state->alpn_wire = alpn_wire_format(options.alpn);
    if (!state->alpn_wire.empty()) SSL_CTX_set_alpn_select_cb(state->ctx, select_alpn, state.get());
    return Context(std::move(state));
}

bool Context::is_client() const noexcept { return state_ && state_->client; }

ssl_ctx_st* Context::native_handle() const noexcept { return state_ ? state_->ctx : nullptr; }

}  // namespace weft::tls
