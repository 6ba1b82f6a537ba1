// weft::net::TcpStream: a connected TCP socket.
//
//   using namespace std::chrono_literals;
//   auto stream = co_await weft::net::TcpStream::connect("127.0.0.1", 8080, 2s);
//   stream.set_nodelay(true);
//   co_await stream.write_all("ping\n");
//   std::string reply;
//   co_await stream.read_until(reply, '\n');
//
// connect() fails with ConnectionRefused (nothing listening), TimedOut (no answer within
// `timeout`, which covers the name lookup too; zero means no limit of its own), ResolveError
// (no such name) or another IoError. A numeric IPv4/IPv6 host is used as is; a name goes
// through weft::resolve (getaddrinfo on the blocking pool) and its addresses are tried in
// order. Reading and writing: see Stream.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <weft/net/address.hpp>
#include <weft/net/stream.hpp>
#include <weft/task.hpp>

namespace weft::net {

class TcpStream : public Stream {
public:
    TcpStream() noexcept = default;
    /// Adopts a connected, non-blocking TCP socket.
    explicit TcpStream(int fd) noexcept : Stream(fd, detail::FdKind::socket) {}

    static Task<TcpStream> connect(SocketAddress peer, std::chrono::milliseconds timeout = {});
    static Task<TcpStream> connect(std::string host, std::uint16_t port, std::chrono::milliseconds timeout = {});

    void set_nodelay(bool on);
    bool nodelay() const;
    /// SO_LINGER: `seconds` == 0 makes close() send a reset instead of a FIN.
    void set_linger(bool on, int seconds);

private:
    static Task<TcpStream> connect_once(SocketAddress peer);
};

}  // namespace weft::net
