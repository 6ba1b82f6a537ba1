// weft::tls::CertificateError: the server's certificate did not verify during
// Stream::connect(): untrusted issuer, self-signed, expired, or not for the host asked for.
//
//   try {
//       auto tls = co_await weft::tls::Stream::connect(std::move(tcp), ctx, "example.com");
//   } catch (const weft::tls::CertificateError& e) {
//       log("{}: {}", e.host(), e.what());   // "certificate verify failed for example.com: ..."
//   }
//
// A TlsError (so an IoError); what() reads "certificate verify failed for <host>:
// <X509_verify_cert_error_string>".
#pragma once

#include <string>
#include <utility>

#include <weft/tls/tls_error.hpp>

namespace weft::tls {

/// verify_result() is the X509_V_ERR_* code (X509_V_ERR_HOSTNAME_MISMATCH,
/// X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, ...); host() the name connect() was given.
class CertificateError : public TlsError {
public:
    CertificateError(std::string host, long verify_result, const std::string& reason)
        : TlsError("certificate verify failed for " + host + ": " + reason),
          host_(std::move(host)),
          verify_result_(verify_result) {}
    const std::string& host() const noexcept { return host_; }
    long verify_result() const noexcept { return verify_result_; }

private:
    std::string host_;
    long verify_result_;
};

}  // namespace weft::tls
