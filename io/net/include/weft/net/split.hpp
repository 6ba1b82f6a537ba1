// weft::net::into_split(stream): owned read and write halves of one stream, which two tasks
// (on any workers) may use at the same time (Tokio's TcpStream::into_split).
//
//   auto [reader, writer] = weft::net::into_split(std::move(stream));
//   auto pump = weft::spawn([](weft::net::ReadHalf<TcpStream> r) -> weft::Task<> {
//       char buf[4096];
//       while (std::size_t n = co_await r.read(buf, sizeof buf)) consume(buf, n);
//   }(std::move(reader)));
//   co_await writer.write_all(request);
//   writer.close();                    // shutdown(SHUT_WR): the peer sees end of stream
//   co_await pump;
//
// The halves share the stream; it is closed when both are gone. One task reads through the
// ReadHalf while another writes through the WriteHalf (the reactor keeps the two directions
// apart); each half is used by one task at a time, as Stream is. Like Tokio's
// OwnedWriteHalf, destroying or close()-ing the write half shuts the socket down for writing
// (the peer reads end of stream); the read half can still read the peer's reply.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <utility>

#include <weft/error.hpp>
#include <weft/net/stream.hpp>
#include <weft/net/stream_concepts.hpp>

namespace weft::net {

template <class S>
class ReadHalf {
public:
    ReadHalf() noexcept = default;
    explicit ReadHalf(std::shared_ptr<S> stream) noexcept : stream_(std::move(stream)) {}

    /// As S::read: some bytes, 0 at end of stream.
    auto read(void* data, std::size_t size) { return checked().read(data, size); }
    auto read(std::span<std::byte> buffer) { return checked().read(buffer.data(), buffer.size()); }
    auto read_exact(void* data, std::size_t size) { return checked().read_exact(data, size); }
    /// Gives up this half (the stream closes once the write half is gone too).
    void close() noexcept { stream_.reset(); }
    bool is_open() const noexcept { return stream_ && stream_->is_open(); }
    /// Whether `writer` is the other half of the same stream.
    template <class W>
    bool is_pair_of(const W& writer) const noexcept {
        return stream_ && stream_ == writer.shared();
    }
    const std::shared_ptr<S>& shared() const noexcept { return stream_; }
    S& stream() { return checked(); }

private:
    S& checked() {
        if (!stream_) throw UsageError("ReadHalf: this half was closed (or moved from)");
        return *stream_;
    }
    std::shared_ptr<S> stream_;
};

template <class S>
class WriteHalf {
public:
    WriteHalf() noexcept = default;
    explicit WriteHalf(std::shared_ptr<S> stream) noexcept : stream_(std::move(stream)) {}
    WriteHalf(WriteHalf&&) noexcept = default;
    WriteHalf& operator=(WriteHalf&& other) noexcept {
        if (this != &other) {
            close();
            stream_ = std::move(other.stream_);
        }
        return *this;
    }
    ~WriteHalf() { close(); }

    auto write(const void* data, std::size_t size) { return checked().write(data, size); }
    auto write(std::span<const std::byte> data) { return checked().write(data.data(), data.size()); }
    auto write_all(const void* data, std::size_t size) { return checked().write_all(data, size); }
    auto write_all(std::string_view text) { return checked().write_all(text.data(), text.size()); }
    std::size_t try_write(const void* data, std::size_t size)
        requires requires(S& s, const void* d, std::size_t n) { s.try_write(d, n); }
    {
        return checked().try_write(data, size);
    }
    /// Shuts the stream down for writing (the peer reads end of stream) and gives up this
    /// half. Idempotent; errors (the peer already gone) are ignored, as a destructor must.
    void close() noexcept {
        if (!stream_) return;
        if constexpr (requires(S& s) { s.shutdown(ShutdownMode::write); }) {
            try {
                if (stream_->is_open()) stream_->shutdown(ShutdownMode::write);
            } catch (const Error&) {
                // ENOTCONN: the peer reset the connection; nothing left to end.
            }
        }
        stream_.reset();
    }
    bool is_open() const noexcept { return stream_ && stream_->is_open(); }
    const std::shared_ptr<S>& shared() const noexcept { return stream_; }
    S& stream() { return checked(); }

private:
    S& checked() {
        if (!stream_) throw UsageError("WriteHalf: this half was closed (or moved from)");
        return *stream_;
    }
    std::shared_ptr<S> stream_;
};

template <class S>
struct SplitStream {
    ReadHalf<S> reader;
    WriteHalf<S> writer;
};

/// Splits an owned stream into its two halves (the stream moves into shared storage).
template <class S>
    requires ReadableStream<S> && WritableStream<S> && (!std::is_reference_v<S>)
SplitStream<S> into_split(S&& stream) {
    auto shared = std::make_shared<S>(std::move(stream));
    return {ReadHalf<S>(shared), WriteHalf<S>(shared)};
}

}  // namespace weft::net
