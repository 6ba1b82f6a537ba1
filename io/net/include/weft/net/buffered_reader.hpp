// weft::net::BufferedReader: reads a stream through a buffer, for line- and record-
// oriented protocols (tokio::io::BufReader).
//
//   weft::net::BufferedReader reader(stream);      // borrows: keep `stream` alive
//   std::string line;
//   while (co_await reader.read_line(line)) handle(line);   // false at end of stream
//   co_await reader.read_exact(body.data(), length);        // buffered bytes first
//
// Works over anything with Stream's read(void*, size) (TcpStream, UnixStream, PipeReader).
// Cancellation: bytes already read from the stream stay in the buffer or in the caller's
// string, so a cancelled read_line/read_until can be called again and loses nothing.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include <weft/io_error.hpp>
#include <weft/task.hpp>

namespace weft::net {

template <class S>
class BufferedReader {
public:
    explicit BufferedReader(S& stream, std::size_t capacity = 8192)
        : stream_(&stream), buffer_(new char[capacity]), capacity_(capacity) {}

    /// The bytes buffered now (possibly none); consume() drops some of them.
    std::span<const char> buffered() const noexcept { return {buffer_.get() + begin_, end_ - begin_}; }
    void consume(std::size_t count) noexcept { begin_ += std::min(count, end_ - begin_); }

    /// Buffers more if the buffer is empty; returns the buffered bytes (empty: end of stream).
    Task<std::span<const char>> fill() {
        if (begin_ == end_) {
            begin_ = end_ = 0;
            end_ = co_await stream_->read(buffer_.get(), capacity_);
        }
        co_return buffered();
    }

    /// Some bytes, from the buffer first; 0 at end of stream. Large reads into an empty
    /// buffer go straight to the stream.
    Task<std::size_t> read(void* data, std::size_t size) {
        if (begin_ == end_ && size >= capacity_) co_return co_await stream_->read(data, size);
        std::span<const char> have = co_await fill();
        std::size_t n = std::min(size, have.size());
        std::memcpy(data, have.data(), n);
        consume(n);
        co_return n;
    }

    /// Exactly `size` bytes, or UnexpectedEof.
    Task<void> read_exact(void* data, std::size_t size) {
        auto* out = static_cast<char*>(data);
        std::size_t done = 0;
        while (done < size) {
            std::size_t n = co_await read(out + done, size - done);
            if (n == 0) {
                throw UnexpectedEof("BufferedReader::read_exact: the stream ended after " + std::to_string(done) +
                                    " of " + std::to_string(size) + " bytes");
            }
            done += n;
        }
    }

    /// Appends through the first `delimiter` (see Stream::read_until for the return value).
    Task<std::size_t> read_until(std::string& out, char delimiter, std::size_t max = 64 * 1024) {
        std::size_t appended = 0;
        while (appended < max) {
            std::span<const char> have = co_await fill();
            if (have.empty()) co_return appended;
            std::size_t limit = std::min(have.size(), max - appended);
            const void* hit = std::memchr(have.data(), delimiter, limit);
            std::size_t take = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - have.data()) + 1 : limit;
            out.append(have.data(), take);
            consume(take);
            appended += take;
            if (hit) co_return appended;
        }
        co_return appended;
    }

    /// The next line without its "\n" or "\r\n" (a last line may lack it); false at end of
    /// stream. Lines longer than `max` throw IoError(EMSGSIZE).
    Task<bool> read_line(std::string& line, std::size_t max = 64 * 1024) {
        line.clear();
        std::size_t n = co_await read_until(line, '\n', max);
        if (n == 0) co_return false;
        if (line.back() == '\n') {
            line.pop_back();
            if (!line.empty() && line.back() == '\r') line.pop_back();
        } else if (n == max) {
            throw IoError(EMSGSIZE, "BufferedReader::read_line: line longer than " + std::to_string(max) + " bytes");
        }
        co_return true;
    }

    S& get() noexcept { return *stream_; }

private:
    S* stream_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace weft::net
