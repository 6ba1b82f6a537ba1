#include <weft/net/serve.hpp>

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include <weft/detail/io_source.hpp>
#include <weft/io_error.hpp>
#include <weft/net/detail/descriptor.hpp>
#include <weft/net/detail/ops.hpp>
#include <weft/shutdown.hpp>
#include <weft/spawn.hpp>
#include <weft/task_group.hpp>

namespace weft::net {

namespace {

Task<void> accept_loop(TcpListener& listener, const ConnectionHandler& handler, ServeOptions options) {
    for (;;) {
        TcpStream stream = co_await listener.accept();
        if (options.nodelay) {
            try {
                stream.set_nodelay(true);
            } catch (const IoError&) {
                continue;  // the connection is already gone (reset while queued)
            }
        }
        if (options.shutdown) {
            options.shutdown->spawn(handler(std::move(stream)), "connection");
        } else {
            weft::spawn(handler(std::move(stream)), "connection").detach();
        }
    }
}

}  // namespace

namespace {

// SO_REUSEPORT lets any socket of the same user with the option set bind the port too: a second
// server (or a second copy of the service) would start without error and take a share of the
// connections. So a fixed port is first bound without it, by a socket that never listens:
// EADDRINUSE if anything holds the port, as asyncio's start_server reports.
void check_port_free(const SocketAddress& address) {
    if (address.port() == 0) return;  // the kernel picks a free one
    detail::Descriptor probe(detail::open_socket(address.family(), SOCK_STREAM, "start_server: socket"));
    detail::set_option(probe.fd(), SOL_SOCKET, SO_REUSEADDR, 1, "start_server: SO_REUSEADDR");
    if (address.family() == AF_INET6)
        detail::set_option(probe.fd(), IPPROTO_IPV6, IPV6_V6ONLY, 0, "start_server: IPV6_V6ONLY");
    if (::bind(probe.fd(), address.native(), address.native_size()) != 0)
        throw_io_error(errno, "start_server: bind " + address.to_string());
}

}  // namespace

PerCoreListener PerCoreListener::bind(const SocketAddress& address, int backlog) {
    check_port_free(address);
    PerCoreListener server;
    server.backlog_ = backlog;
    server.listeners_.push_back(TcpListener::bind(address, {.reuse_port = true, .backlog = backlog}));
    server.address_ = server.listeners_.front().local_address();  // port 0 resolved
    return server;
}

Task<void> PerCoreListener::serve(ConnectionHandler handler, ServeOptions options) {
    unsigned workers = weft::detail::IoSource::worker_count();
    unsigned count = options.acceptors ? options.acceptors : workers;
    while (listeners_.size() < count)
        listeners_.push_back(TcpListener::bind(address_, {.reuse_port = true, .backlog = backlog_}));
    for (unsigned i = 0; i < listeners_.size(); ++i) listeners_[i].pin_to_worker(i % workers);
    // However serve() ends, the acceptors have finished (TaskGroup waits for them): close
    // the listeners, so that new connections are refused rather than left in the backlog.
    struct CloseListeners {
        std::vector<TcpListener>& listeners;
        ~CloseListeners() {
            for (TcpListener& listener : listeners) listener.close();
        }
    } close_listeners{listeners_};
    co_await TaskGroup::run([&](TaskGroup& group) -> Task<void> {
        for (TcpListener& listener : listeners_)
            group.spawn(accept_loop(listener, handler, options), "acceptor").detach();
        co_return;
    });
}

Task<void> serve_per_core(SocketAddress address, ConnectionHandler handler, ServeOptions options) {
    PerCoreListener server = PerCoreListener::bind(address);
    co_await server.serve(std::move(handler), options);
}

}  // namespace weft::net
