#include <weft/net/udp_socket.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include <weft/io_error.hpp>

namespace weft::net {

UdpSocket UdpSocket::bind(const SocketAddress& address, bool reuse_address) {
    if (!address.is_ip()) throw IoError(EAFNOSUPPORT, "UdpSocket::bind: not an IP address: " + address.to_string());
    UdpSocket socket(detail::open_socket(address.family(), SOCK_DGRAM, "UdpSocket::bind: socket"));
    int fd = socket.descriptor_.fd();
    if (reuse_address) detail::set_option(fd, SOL_SOCKET, SO_REUSEADDR, 1, "UdpSocket::bind: SO_REUSEADDR");
    if (::bind(fd, address.native(), address.native_size()) != 0)
        throw_io_error(errno, "UdpSocket::bind " + address.to_string());
    return socket;
}

UdpSocket UdpSocket::connect(const SocketAddress& peer, const SocketAddress& local) {
    if (!peer.is_ip()) throw IoError(EAFNOSUPPORT, "UdpSocket::connect: not an IP address: " + peer.to_string());
    UdpSocket socket = local.family() == AF_UNSPEC
                           ? UdpSocket(detail::open_socket(peer.family(), SOCK_DGRAM, "UdpSocket::connect: socket"))
                           : bind(local);
    // A UDP connect sends nothing: it sets the default destination and the only source heard.
    if (::connect(socket.descriptor_.fd(), peer.native(), peer.native_size()) != 0)
        throw_io_error(errno, "UdpSocket::connect to " + peer.to_string());
    return socket;
}

void UdpSocket::set_broadcast(bool on) {
    detail::set_option(descriptor_.fd(), SOL_SOCKET, SO_BROADCAST, on ? 1 : 0, "UdpSocket::set_broadcast");
}

}  // namespace weft::net
