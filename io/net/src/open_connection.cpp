#include <weft/net/open_connection.hpp>

namespace weft::net {

Task<Connection> open_connection(std::string host, std::uint16_t port, ConnectOptions options) {
    TcpStream stream = co_await TcpStream::connect(std::move(host), port, options.timeout);
    if (options.nodelay) stream.set_nodelay(true);
    co_return make_streams(std::move(stream), options.limit);
}

Task<StreamPair<UnixStream>> open_unix_connection(std::string path, std::size_t limit) {
    UnixStream stream = co_await UnixStream::connect(std::move(path));
    co_return make_streams(std::move(stream), limit);
}

}  // namespace weft::net
