#include <weft/http/server.hpp>

#include <exception>

#include <weft/error.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/timeout.hpp>

#include "connection.hpp"
#include "server_state.hpp"

namespace weft::http {

Server::Server(Router router, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(router), std::move(options))) {
    if (impl_->options.max_header_bytes < 64) throw UsageError("weft::http::ServerOptions: max_header_bytes < 64");
    if (impl_->options.max_headers == 0) throw UsageError("weft::http::ServerOptions: max_headers is 0");
    const ServerOptions& o = impl_->options;
    if (o.handler_timeout.count() < 0) throw UsageError("weft::http::ServerOptions: handler_timeout is negative");
    if (o.tls_cert_file.empty() != o.tls_key_file.empty())
        throw UsageError("weft::http::ServerOptions: HTTPS needs both tls_cert_file and tls_key_file");
    if ((o.tls_client_auth != tls::ClientAuth::none || !o.tls_client_ca_file.empty()) && o.tls_cert_file.empty())
        throw UsageError("weft::http::ServerOptions: client certificates (tls_client_auth) need HTTPS "
                         "(tls_cert_file and tls_key_file)");
    if (!o.tls_cert_file.empty()) {
        impl_->tls = tls::Context::server(o.tls_cert_file, o.tls_key_file,
                                          {.client_auth = o.tls_client_auth, .client_ca_file = o.tls_client_ca_file});
    }
}

Server::~Server() = default;

void Server::listen(const net::SocketAddress& address) {
    if (impl_->listener) throw UsageError("weft::http::Server::listen: already listening");
    impl_->listener.emplace(net::PerCoreListener::bind(address));
}

net::SocketAddress Server::local_address() const {
    if (!impl_->listener) throw UsageError("weft::http::Server::local_address: not listening (call listen())");
    return impl_->listener->local_address();
}

std::size_t Server::connections() const noexcept { return impl_->count.load(); }

namespace {

// Stops the connections (server_state.hpp's protocol) and waits until they have all ended.
// The last connection leaves (and sets all_closed) under the mutex: taking it once more after
// seeing the count at zero waits until that connection no longer touches `impl`, which the
// caller may destroy as soon as drain() returns.
bool all_left(Server::Impl& impl) {
    std::lock_guard lock(impl.mutex);
    return impl.count.load() == 0;
}

Task<void> drain(Server::Impl& impl) {
    impl.draining.store(true);
    if (all_left(impl)) co_return;
    impl.close_connections(false);
    bool late = false;
    try {
        co_await wait_for(impl.all_closed.wait(), impl.options.graceful_timeout);
    } catch (const TimeoutError&) {
        late = true;
    }
    if (!late) {
        all_left(impl);
        co_return;
    }
    spdlog::warn("weft::http: {} connection(s) still busy after the graceful timeout: cancelling them",
                 impl.count.load());
    impl.close_connections(true);
    co_await impl.all_closed.wait();
    all_left(impl);
}

}  // namespace

Task<void> Server::serve() {
    if (!impl_->listener) throw UsageError("weft::http::Server::serve: call listen() first (or serve(address))");
    if (impl_->draining.load()) throw UsageError("weft::http::Server::serve: the server was stopped");
    Impl& impl = *impl_;
    std::exception_ptr ended;
    try {
        co_await impl.listener->serve(
            [&impl](net::TcpStream stream) -> Task<void> {
                if (impl.tls) return detail::serve_tls_connection(impl, std::move(stream));
                return detail::serve_connection<net::TcpStream>(impl, std::move(stream));
            },
            {.acceptors = impl.options.acceptors, .nodelay = true, .shutdown = nullptr});
    } catch (...) {
        ended = std::current_exception();
    }
    co_await drain(impl);
    if (ended) std::rethrow_exception(ended);
}

Task<void> Server::serve(net::SocketAddress address) {
    listen(address);
    co_await serve();
}

}  // namespace weft::http
