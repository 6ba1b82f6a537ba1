// The errors weft::http raises. Every client failure is a ClientError carrying the URL it
// was fetching, with one subclass per thing a caller handles differently (as aiohttp's
// ClientConnectorError, ServerDisconnectedError, ClientPayloadError, ServerTimeoutError):
//
//   try {
//       auto response = co_await client.get("http://127.0.0.1:8080/hello");
//   } catch (const weft::http::ConnectError& e) {        // refused, unreachable, DNS, TLS handshake
//                                                        // (ConnectCertificateError: verification)
//       log("{} is down: {}", e.url(), e.what());
//   } catch (const weft::http::ServerDisconnected& e) {  // reset or closed mid-response
//   } catch (const weft::http::InvalidResponse& e) {     // not HTTP/1.x, or malformed
//   } catch (const weft::http::RequestTimeout& e) {      // e.phase(): connect, read or total
//   } catch (const weft::http::ClientError& e) {         // any of them (and TooManyRedirects)
//   }
//
// A malformed URL or a bad argument is weft::UsageError, raised before anything is sent.
// Cancelling the request (weft::timeout() around it, cancel()) is CancelledError as usual,
// not a ClientError.
#pragma once

#include <string>
#include <utility>

#include <weft/error.hpp>

namespace weft::http {

class ClientError : public Error {
public:
    /// what() reads "<url>: <message>".
    ClientError(std::string url, const std::string& message) : Error(url + ": " + message), url_(std::move(url)) {}
    const std::string& url() const noexcept { return url_; }

private:
    std::string url_;
};

/// The connection could not be made: refused, unreachable, name not resolved, TLS handshake
/// or certificate verification failed. errno_code() is the errno when there was one, else 0.
class ConnectError : public ClientError {
public:
    ConnectError(std::string url, const std::string& message, int errno_code = 0)
        : ClientError(std::move(url), message), errno_code_(errno_code) {}
    int errno_code() const noexcept { return errno_code_; }

private:
    int errno_code_;
};

/// An https:// server's certificate did not verify: untrusted issuer, expired, or not for the
/// URL's host (aiohttp's ClientConnectorCertificateError). what() holds OpenSSL's reason.
class ConnectCertificateError : public ConnectError {
public:
    using ConnectError::ConnectError;
};

/// The server reset or closed the connection before the response was complete.
class ServerDisconnected : public ClientError {
public:
    using ClientError::ClientError;
};

/// The response was not valid HTTP/1.x (llhttp's reason is in what()).
class InvalidResponse : public ClientError {
public:
    using ClientError::ClientError;
};

/// A client timeout expired. Unlike weft::TimeoutError this is not a cancellation: the
/// request failed, the task goes on.
class RequestTimeout : public ClientError {
public:
    enum class Phase { connect, read, total };
    RequestTimeout(std::string url, const std::string& message, Phase phase)
        : ClientError(std::move(url), message), phase_(phase) {}
    Phase phase() const noexcept { return phase_; }

private:
    Phase phase_;
};

/// More redirects than the request allowed.
class TooManyRedirects : public ClientError {
public:
    using ClientError::ClientError;
};

}  // namespace weft::http
