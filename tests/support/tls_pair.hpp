// A TCP or TLS connection over loopback with both ends in this process (tests/tls_*.cpp).
//
//   test::TcpPair tcp = co_await test::tcp_pair();            // set socket options here
//   test::TlsPair tls = co_await test::tls_handshake(std::move(tcp), server_ctx, client_ctx);
//   co_await tls.client.write_all(...);  co_await tls.server.read(...);
#pragma once

#include <string>
#include <utility>

#include <weft/net/address.hpp>
#include <weft/net/tcp_listener.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/tls/context.hpp>
#include <weft/tls/stream.hpp>

namespace test {

struct TcpPair {
    weft::net::TcpStream client;
    weft::net::TcpStream server;
};

inline weft::Task<TcpPair> tcp_pair() {
    auto listener = weft::net::TcpListener::bind(weft::net::SocketAddress::loopback_v4(0));
    weft::net::TcpStream client = co_await weft::net::TcpStream::connect(listener.local_address());
    weft::net::TcpStream server = co_await listener.accept();
    co_return TcpPair{std::move(client), std::move(server)};
}

struct TlsPair {
    weft::tls::Stream client;
    weft::tls::Stream server;
};

// The TLS handshake over `tcp`, the server side in a task of its own; the client checks `name`.
inline weft::Task<TlsPair> tls_handshake(TcpPair tcp, weft::tls::Context server_ctx, weft::tls::Context client_ctx,
                                         std::string name = "localhost") {
    auto server = weft::spawn(weft::tls::Stream::accept(std::move(tcp.server), std::move(server_ctx)));
    weft::tls::Stream client =
        co_await weft::tls::Stream::connect(std::move(tcp.client), std::move(client_ctx), std::move(name));
    weft::tls::Stream served = co_await server;
    co_return TlsPair{std::move(client), std::move(served)};
}

inline weft::Task<TlsPair> tls_pair(weft::tls::Context server_ctx, weft::tls::Context client_ctx,
                                    std::string name = "localhost") {
    TcpPair tcp = co_await tcp_pair();
    co_return co_await tls_handshake(std::move(tcp), std::move(server_ctx), std::move(client_ctx), std::move(name));
}

}  // namespace test
