#include <weft/net/serve.hpp>

#include <weft/detail/io_source.hpp>
#include <weft/io_error.hpp>
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

PerCoreListener PerCoreListener::bind(const SocketAddress& address, int backlog) {
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
