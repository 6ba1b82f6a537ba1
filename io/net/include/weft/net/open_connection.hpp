// weft::net::open_connection(host, port): a connected reader and writer
// (asyncio.open_connection).
//
//   auto [reader, writer] = co_await weft::net::open_connection("example.com", 80);
//   writer.write("GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
//   co_await writer.drain();
//   std::string head = co_await reader.read_until("\r\n\r\n");
//   std::string body = co_await reader.read_to_end();
//   writer.close();
//   co_await writer.wait_closed();
//
// The host is a numeric address or a name (looked up with weft::resolve, each address tried
// in order, as TcpStream::connect does). The reader and writer are the two halves of one
// TCP stream (into_split): give them to two tasks if you like. Closing the writer sends end
// of stream (shutdown(SHUT_WR)); the socket closes once both are gone. TCP_NODELAY is set,
// as asyncio does. make_streams() wraps a stream you already have (an accepted one, a
// UnixStream, ...): asyncio's open_connection(sock=...).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include <weft/net/split.hpp>
#include <weft/net/stream_reader.hpp>
#include <weft/net/stream_writer.hpp>
#include <weft/net/tcp_stream.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/task.hpp>

namespace weft::net {

/// A reader and a writer over the two halves of one stream. Bind them: auto [r, w] = ...
template <class S>
struct StreamPair {
    StreamReader<ReadHalf<S>> reader;
    StreamWriter<WriteHalf<S>> writer;
};

using TcpReader = StreamReader<ReadHalf<TcpStream>>;
using TcpWriter = StreamWriter<WriteHalf<TcpStream>>;
using Connection = StreamPair<TcpStream>;

/// Splits `stream` and wraps its halves; `limit`: the reader's (see StreamReader).
template <class S>
StreamPair<S> make_streams(S&& stream, std::size_t limit = StreamReader<ReadHalf<S>>::kDefaultLimit)
    requires(!std::is_reference_v<S>)
{
    SplitStream<S> halves = into_split(std::move(stream));
    return {StreamReader<ReadHalf<S>>(std::move(halves.reader), limit),
            StreamWriter<WriteHalf<S>>(std::move(halves.writer))};
}

struct ConnectOptions {
    std::chrono::milliseconds timeout{};      // for the lookup and the connect; zero: none of its own
    std::size_t limit = TcpReader::kDefaultLimit;  // the reader's limit
    bool nodelay = true;                      // TCP_NODELAY
};

/// Connects (ConnectionRefused, TimedOut, ResolveError, IoError as TcpStream::connect).
Task<Connection> open_connection(std::string host, std::uint16_t port, ConnectOptions options = {});
/// asyncio.open_unix_connection: the same over a Unix-domain socket.
Task<StreamPair<UnixStream>> open_unix_connection(std::string path, std::size_t limit = TcpReader::kDefaultLimit);

}  // namespace weft::net
