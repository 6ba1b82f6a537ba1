// What a tls::Context shares: the SSL_CTX and the ALPN list the server's callback reads.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <string>

namespace weft::tls::detail {

struct ContextState {
    ContextState() = default;
    ContextState(const ContextState&) = delete;
    ContextState& operator=(const ContextState&) = delete;
    ~ContextState() { SSL_CTX_free(ctx); }

    SSL_CTX* ctx = nullptr;
    bool client = false;
    bool verify = false;
    std::chrono::milliseconds shutdown_timeout{};  // the options' (Stream::close)
    std::string alpn_wire;  // the server's ALPN list in wire format (length-prefixed names)
};

}  // namespace weft::tls::detail
