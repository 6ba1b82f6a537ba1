// weft::net::StreamReader<S>: a buffered reader that owns its stream (asyncio.StreamReader,
// tokio::io::BufReader).
//
//   auto stream = co_await weft::net::TcpStream::connect("example.com", 80);
//   weft::net::StreamReader reader(std::move(stream));           // owns it from here on
//   std::string head = co_await reader.read_until("\r\n\r\n");   // separator included
//   std::string body = co_await reader.read_exactly(length);
//   while (auto line = co_await reader.read_line()) handle(*line); // nullopt at end of stream
//   std::string rest = co_await reader.read_to_end();
//
// The reader holds the stream by value, so a struct holding a reader can be moved freely
// (the stream moves with it); get() reaches the stream. S may be any ReadableStream:
// TcpStream, UnixStream, ReadHalf<TcpStream> (into_split), PipeReader (a child process's
// stdout). To borrow a stream instead, name a reference type: StreamReader<TcpStream&>
// (the stream must then outlive the reader); class template argument deduction never
// deduces a reference, so `StreamReader r(stream)` with an lvalue does not compile.
//
// THE read_line CONVENTION (every line reader in weft follows it: this one, AsyncFile):
// read_line() returns the next line without its terminator ("\n" or "\r\n"); a last line
// without "\n" is returned as it is; the end of the stream is std::nullopt (so an empty
// line is "", never confused with the end).
//
// Limit (asyncio's `limit`, 64 KiB by default, at least 1): read_until() and read_line() throw
// weft::LimitOverrun when the separator is not within `limit` bytes; those bytes stay
// buffered (asyncio's readuntil does the same; its readline discards them, weft's does not:
// nothing is lost, and the caller decides). Its consumed() is asyncio's: consume(e.consumed())
// skips the bytes before the separator (or all that cannot start one), and the next read
// starts at the separator. The end of the stream before the separator or
// before read_exactly()'s count is weft::IncompleteReadError, carrying the bytes that came.
//
// Cancellation: read(), read_until(), read_line(), read_exactly(n) and read_to_end() lose
// nothing when cancelled (bytes already read stay buffered for the next call). read_exact()
// into the caller's buffer may have filled an unknown prefix (as Stream::read_exact).
// One task reads at a time; the end of stream is remembered (later reads return it at once).
// (Each co_await is into a local: g++ 12 miscompiled `while (co_await f() != 0) {}`, hanging.)
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <weft/error.hpp>
#include <weft/net/stream_concepts.hpp>
#include <weft/net/stream_errors.hpp>
#include <weft/task.hpp>

namespace weft::net {

template <class S>
    requires ReadableStream<S>
class StreamReader {
public:
    static constexpr std::size_t kDefaultLimit = 64 * 1024;  // asyncio's default limit

    /// Takes the stream (or, for S = T&, borrows it). `limit`: see the header comment.
    explicit StreamReader(S stream, std::size_t limit = kDefaultLimit)
        : stream_(std::forward<S>(stream)), limit_(checked_limit(limit)) {}
    StreamReader(StreamReader&&) noexcept = default;
    StreamReader& operator=(StreamReader&&) noexcept = default;

    /// Up to `size` bytes, buffered ones first; 0 at end of stream (or size 0). A large read
    /// into an empty buffer goes straight to the stream.
    Task<std::size_t> read(void* data, std::size_t size) {
        if (size == 0) co_return 0;
        if (begin_ == end_) {
            if (eof_) co_return 0;
            if (size >= kChunk) {
                std::size_t n = co_await stream_.read(data, size);
                if (n == 0) eof_ = true;
                co_return n;
            }
            co_await fill_more(kChunk);
        }
        std::size_t n = std::min(size, end_ - begin_);
        std::memcpy(data, buffer_.get() + begin_, n);
        begin_ += n;
        co_return n;
    }
    Task<std::size_t> read(std::span<std::byte> buffer) { return read(buffer.data(), buffer.size()); }

    /// Exactly `count` bytes (asyncio's readexactly); IncompleteReadError (with the bytes
    /// that came) if the stream ends first. Loses nothing when cancelled.
    Task<std::string> read_exactly(std::size_t count) {
        while (end_ - begin_ < count) {
            // Room for what is still missing, up to kMaxReadAhead at a time: a peer's length
            // prefix reserves memory only as its bytes arrive.
            std::size_t got = co_await fill_more(std::min(count - (end_ - begin_), kMaxReadAhead));
            if (got == 0) throw IncompleteReadError("StreamReader::read_exactly", take(end_ - begin_), count);
        }
        co_return take(count);
    }
    /// Exactly `size` bytes into `data`; IncompleteReadError if the stream ends first.
    Task<void> read_exact(void* data, std::size_t size) {
        auto* out = static_cast<char*>(data);
        std::size_t done = 0;
        while (done < size) {
            std::size_t n = co_await read(out + done, size - done);
            if (n == 0) throw IncompleteReadError("StreamReader::read_exact", std::string(out, done), size);
            done += n;
        }
    }

    /// Through the first `separator` (asyncio's readuntil), separator included; found even
    /// when it arrives split across reads. LimitOverrun if it does not start within limit()
    /// bytes (they stay buffered); IncompleteReadError at end of stream (partial() has the
    /// rest, which is consumed). An empty separator is a UsageError.
    Task<std::string> read_until(std::string_view separator) {
        return read_until_owned(std::string(separator));  // the view may not outlive this call
    }

    /// The next line, without "\n" or "\r\n"; a last line without "\n" as it is; nullopt at
    /// end of stream. LimitOverrun if a line is longer than limit() (it stays buffered).
    Task<std::optional<std::string>> read_line() {
        std::size_t searched = 0;
        for (;;) {
            std::string_view have = buffered_view();
            std::size_t at = have.find('\n', searched);
            if (at != std::string_view::npos) {
                if (at > limit_) throw LimitOverrun("StreamReader::read_line", at, limit_);
                std::string line = take(at + 1);
                line.pop_back();
                if (!line.empty() && line.back() == '\r') line.pop_back();
                co_return line;
            }
            if (have.size() > limit_) throw LimitOverrun("StreamReader::read_line", have.size(), limit_);
            searched = have.size();
            std::size_t got = co_await fill_more(kChunk);
            if (got == 0) break;
        }
        if (begin_ == end_) co_return std::nullopt;
        co_return take(end_ - begin_);  // a last line without "\n"
    }

    /// Everything until the end of the stream (asyncio's read(-1)); no limit applies.
    Task<std::string> read_to_end() {
        for (;;) {
            std::size_t got = co_await fill_more(std::max(kChunk, end_ - begin_));
            if (got == 0) break;
        }
        co_return take(end_ - begin_);
    }

    /// The bytes buffered now (possibly none); consume() drops some of them. The span is
    /// valid until the next read.
    std::span<const char> buffered() const noexcept { return {buffer_.get() + begin_, end_ - begin_}; }
    void consume(std::size_t count) noexcept { begin_ += std::min(count, end_ - begin_); }
    /// Buffers more if the buffer is empty; returns the buffered bytes (empty: end of stream).
    Task<std::span<const char>> fill() {
        if (begin_ == end_) co_await fill_more(kChunk);
        co_return buffered();
    }

    /// True once a read met the end of the stream and every buffered byte was read (asyncio's
    /// at_eof() turns true as soon as the peer's FIN arrives; weft's at the read that sees it).
    bool at_eof() const noexcept { return eof_ && begin_ == end_; }
    std::size_t limit() const noexcept { return limit_; }
    /// The stream (for a reference S, the borrowed one). Reading it directly skips the buffer.
    std::remove_reference_t<S>& get() noexcept { return stream_; }

private:
    static constexpr std::size_t kChunk = 16 * 1024;  // the least a read asks the stream for
    static constexpr std::size_t kMaxReadAhead = 1024 * 1024;  // the most read_exactly reserves ahead

    static std::size_t checked_limit(std::size_t limit) {
        if (limit == 0) throw UsageError("weft::net::StreamReader: the limit must be at least 1 (asyncio: ValueError)");
        return limit;
    }

    std::string_view buffered_view() const noexcept { return {buffer_.get() + begin_, end_ - begin_}; }

    // Removes and returns the first `count` buffered bytes.
    std::string take(std::size_t count) {
        std::string out(buffer_.get() + begin_, count);
        begin_ += count;
        return out;
    }

    // Reads once more from the stream, after the buffered bytes, into at least `want` bytes
    // of room; returns how many came (0: end of stream, remembered).
    Task<std::size_t> fill_more(std::size_t want) {
        if (eof_) co_return 0;
        make_room(std::max(want, kChunk));
        std::size_t n = co_await stream_.read(buffer_.get() + end_, capacity_ - end_);
        if (n == 0) eof_ = true;
        end_ += n;
        co_return n;
    }

    void make_room(std::size_t want) {
        std::size_t have = end_ - begin_;
        if (have == 0) {
            begin_ = end_ = 0;
            if (capacity_ > 4 * std::max(limit_, kChunk)) {  // a large read_exactly is over: give it back
                buffer_.reset();
                capacity_ = 0;
            }
        }
        if (capacity_ - end_ >= want) return;
        if (capacity_ - have >= want && begin_ >= have) {  // room enough once the bytes move to the front
            std::memmove(buffer_.get(), buffer_.get() + begin_, have);
        } else {
            std::size_t capacity = std::max(capacity_ * 2, have + want);
            std::unique_ptr<char[]> bigger(new char[capacity]);
            if (have) std::memcpy(bigger.get(), buffer_.get() + begin_, have);
            buffer_ = std::move(bigger);
            capacity_ = capacity;
        }
        begin_ = 0;
        end_ = have;
    }

    Task<std::string> read_until_owned(std::string separator) {
        if (separator.empty()) throw UsageError("StreamReader::read_until: the separator is empty");
        std::size_t searched = 0;
        for (;;) {
            std::string_view have = buffered_view();
            std::size_t at = have.find(separator, searched);
            if (at != std::string_view::npos) {
                if (at > limit_) throw LimitOverrun("StreamReader::read_until", at, limit_);
                co_return take(at + separator.size());
            }
            if (have.size() >= limit_ + separator.size())  // no separator can start within the limit now
                throw LimitOverrun("StreamReader::read_until", have.size() + 1 - separator.size(), limit_);
            // The separator may straddle the end of what is here: search its last bytes again.
            searched = have.size() >= separator.size() ? have.size() - separator.size() + 1 : 0;
            std::size_t got = co_await fill_more(kChunk);
            if (got == 0) throw IncompleteReadError("StreamReader::read_until", take(end_ - begin_), std::nullopt);
        }
    }

    S stream_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::size_t limit_;
    bool eof_ = false;
};

template <class S>
StreamReader(S, std::size_t = 0) -> StreamReader<S>;

}  // namespace weft::net
