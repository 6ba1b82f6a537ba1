// weft::net::BufferedWriter: gathers small writes into one (tokio::io::BufWriter).
//
//   weft::net::BufferedWriter writer(stream);      // borrows: keep `stream` alive
//   co_await writer.write("HTTP/1.1 200 OK\r\n");
//   co_await writer.write(body);
//   co_await writer.flush();                       // nothing reaches the peer before this
//
// Works over anything with Stream's write_all(const void*, size). Destroying a writer
// with unflushed bytes drops them (a destructor cannot await): flush() first. After a
// cancelled flush() the amount the peer received is unknown: close the stream.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

#include <weft/task.hpp>

namespace weft::net {

template <class S>
class BufferedWriter {
public:
    explicit BufferedWriter(S& stream, std::size_t capacity = 8192)
        : stream_(&stream), buffer_(new char[capacity]), capacity_(capacity) {}

    /// Buffers the bytes, writing the buffer out first when they do not fit; data as large
    /// as the buffer goes straight to the stream.
    Task<void> write(const void* data, std::size_t size) {
        if (used_ + size > capacity_) co_await flush();
        if (size >= capacity_) {
            co_await stream_->write_all(data, size);
            co_return;
        }
        std::memcpy(buffer_.get() + used_, data, size);
        used_ += size;
    }
    Task<void> write(std::string_view text) { return write(text.data(), text.size()); }

    Task<void> flush() {
        if (used_ == 0) co_return;
        std::size_t size = used_;
        used_ = 0;
        co_await stream_->write_all(buffer_.get(), size);
    }

    std::size_t pending() const noexcept { return used_; }
    S& get() noexcept { return *stream_; }

private:
    S* stream_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_;
    std::size_t used_ = 0;
};

}  // namespace weft::net
