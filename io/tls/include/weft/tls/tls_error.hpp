// weft::tls::TlsError: the TLS handshake or protocol failed, OpenSSL's reason in what(). Its
// subclass CertificateError (certificate_error.hpp): the peer's certificate did not verify.
//
//   try {
//       auto tls = co_await weft::tls::Stream::connect(std::move(tcp), ctx, "example.com");
//   } catch (const weft::tls::CertificateError& e) {   // untrusted, expired, wrong host
//       log("{} (host {})", e.what(), e.host());
//   } catch (const weft::tls::TlsError& e) {           // not TLS, no common protocol, bad alert
//       log("handshake failed: {}", e.what());
//   }
//
// Both are weft::IoError (code() 0, kind() io_errc::other), so code that already handles a
// failed connection catches them too. Failures of the TCP connection underneath keep their
// own types (ConnectionReset, BrokenPipe, ...), as with a plain TcpStream; a TLS stream cut
// without close_notify is weft::UnexpectedEof (stream.hpp).
#pragma once

#include <string>

#include <weft/io_error.hpp>

namespace weft::tls {

class TlsError : public IoError {
public:
    explicit TlsError(const std::string& message) : IoError(0, io_errc::other, message) {}
};

}  // namespace weft::tls
