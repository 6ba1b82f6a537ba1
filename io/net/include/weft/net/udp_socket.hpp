// weft::net::UdpSocket: datagrams.
//
//   auto socket = weft::net::UdpSocket::bind(weft::net::SocketAddress::ip("127.0.0.1", 0));
//   co_await socket.send_to(data, size, peer);
//   char buf[1500];
//   weft::net::Datagram d = co_await socket.recv_from(buf, sizeof buf);  // d.size, d.from
//
//   auto client = weft::net::UdpSocket::connect(server_address);  // asyncio's remote_addr=
//   co_await client.send("ping", 4);
//   weft::net::Datagram reply = co_await client.recv(buf, sizeof buf);
//
// A connected socket (connect()) hears only its peer (the kernel drops other senders'
// datagrams), and an ICMP error about what it sent (port unreachable) surfaces on its next
// send or recv as an IoError (ConnectionRefused), which an unconnected socket never sees.
//
// Each await is a cancellation point; a cancelled recv_from() consumes no datagram.
// recv_from() into a short buffer drops the datagram's tail and sets d.truncated.
#pragma once

#include <cstddef>

#include <weft/net/address.hpp>
#include <weft/net/detail/descriptor.hpp>
#include <weft/net/detail/io_awaiter.hpp>
#include <weft/net/detail/ops.hpp>

namespace weft::net {

class UdpSocket {
public:
    UdpSocket() noexcept = default;

    /// A socket bound to `address` (port 0: any free port). SO_REUSEADDR if `reuse_address`.
    static UdpSocket bind(const SocketAddress& address, bool reuse_address = false);
    /// A socket connected to `peer` (an IP address), bound to `local` if given, else to any
    /// free local port (asyncio's create_datagram_endpoint(remote_addr=...)).
    static UdpSocket connect(const SocketAddress& peer, const SocketAddress& local = {});

    detail::IoAwaiter<detail::SendToOp> send_to(const void* data, std::size_t size, const SocketAddress& to) {
        return {descriptor_, {descriptor_.fd(), data, size, to}};
    }
    detail::IoAwaiter<detail::RecvFromOp> recv_from(void* data, std::size_t size) {
        return {descriptor_, {descriptor_.fd(), data, size}};
    }
    /// Connected sockets: one datagram to the peer.
    detail::IoAwaiter<detail::SendToOp> send(const void* data, std::size_t size) {
        return {descriptor_, {descriptor_.fd(), data, size, SocketAddress{}}};
    }
    /// Connected sockets: the next datagram from the peer (recv_from under another name).
    detail::IoAwaiter<detail::RecvFromOp> recv(void* data, std::size_t size) { return recv_from(data, size); }

    SocketAddress local_address() const { return detail::local_address_of(descriptor_.fd()); }
    /// The peer of a connected socket (IoError ENOTCONN otherwise).
    SocketAddress peer_address() const { return detail::peer_address_of(descriptor_.fd()); }
    void set_broadcast(bool on);
    void close() noexcept { descriptor_.close(); }
    int native_handle() const noexcept { return descriptor_.fd(); }

private:
    explicit UdpSocket(int fd) noexcept : descriptor_(fd) {}
    detail::Descriptor descriptor_;
};

}  // namespace weft::net
