// What StreamReader, StreamWriter and into_split need of a stream: Stream's read(void*, size)
// and write(void*, size) / write_all(void*, size) awaitables. TcpStream, UnixStream, the
// halves of into_split(), PipeReader / PipeWriter (a child process's pipes) all qualify, and
// so does a test double with the same member functions.
//
//   static_assert(weft::net::ReadableStream<weft::net::PipeReader>);
//   static_assert(weft::net::WritableStream<weft::net::TcpStream>);
#pragma once

#include <cstddef>
#include <type_traits>

namespace weft::net {

/// `co_await s.read(data, size)` gives up to `size` bytes, 0 at end of stream.
template <class S>
concept ReadableStream = requires(std::remove_reference_t<S>& s, void* data, std::size_t size) { s.read(data, size); };

/// `co_await s.write(data, size)` writes some bytes (returns how many), `co_await
/// s.write_all(data, size)` all of them; `s.close()` ends the stream.
template <class S>
concept WritableStream = requires(std::remove_reference_t<S>& s, const void* data, std::size_t size) {
    s.write(data, size);
    s.write_all(data, size);
    s.close();
};

}  // namespace weft::net
