// weft::net::StreamWriter<S>: buffered writing with asyncio's flow control
// (asyncio.StreamWriter: write() buffers, drain() waits while the buffer is too full).
//
//   weft::net::StreamWriter writer(std::move(stream));   // owns it from here on
//   for (const Record& r : records) {
//       writer.write(r.bytes());        // never waits: buffers what the socket cannot take now
//       co_await writer.drain();        // waits only while more than the high-water mark is buffered
//   }
//   writer.close();                     // sends what is buffered, then closes the stream
//   co_await writer.wait_closed();      // rethrows a failure of those last writes (or of the close)
//
// write() first tries to send at once (one non-blocking write when nothing is queued); what
// the kernel does not take is buffered and sent by a background task, as asyncio's event
// loop sends a transport's buffer, so buffered bytes go out even if nobody awaits drain().
// drain(): if more than `high` bytes are buffered, waits until at most `low` are
// (set_write_buffer_limits; asyncio's defaults: high 64 KiB, low high / 4). So a producer
// that calls drain() after each write() holds at most high + one write in memory.
// flush(): waits until nothing is buffered.
//
// Errors: a failed write (BrokenPipe, ConnectionReset) is kept and rethrown by the next
// write(), drain(), flush() or wait_closed(); the buffered bytes are dropped then. write()
// after close() is a UsageError. Destroying the writer closes it (buffered bytes are still
// sent in the background; await wait_closed() to know they were). A stream with its own
// wait_closed() (tls::Stream, whose close waits until the peer has every byte) is awaited
// by the writer's wait_closed() too, which then rethrows that close's failure. When the
// runtime shuts down, bytes still buffered are dropped (the background task is cancelled, as
// asyncio's loop closes its transports).
//
// Threads: write() may be called by several tasks (each call's bytes stay together); the
// background sender may run on another worker. drain() and flush() are cancellation points
// that lose nothing (the bytes stay buffered and are sent). S: any WritableStream with
// close() (TcpStream, UnixStream, WriteHalf<TcpStream>, PipeWriter); with a try_write()
// (Stream has it) write() sends at once, without it the background task sends everything.
// Where weft differs from asyncio: write() after a failure raises instead of logging.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/io_error.hpp>
#include <weft/net/stream_concepts.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

namespace weft::net {

template <class S>
    requires WritableStream<S> && (!std::is_reference_v<S>)
class StreamWriter {
public:
    static constexpr std::size_t kDefaultHigh = 64 * 1024;  // asyncio's defaults
    static constexpr std::size_t kDefaultLow = kDefaultHigh / 4;

    explicit StreamWriter(S stream) : core_(std::make_shared<Core>(std::move(stream))) {}
    StreamWriter(StreamWriter&&) noexcept = default;
    StreamWriter& operator=(StreamWriter&& other) noexcept {
        if (this != &other) {
            if (core_) close();
            core_ = std::move(other.core_);
        }
        return *this;
    }
    ~StreamWriter() {
        if (core_) close();
    }

    /// Queues the bytes (sending at once what the kernel takes). Never waits.
    void write(std::span<const std::byte> data) { write(reinterpret_cast<const char*>(data.data()), data.size()); }
    void write(std::string_view text) { write(text.data(), text.size()); }
    void write(const char* data, std::size_t size) {
        Core& c = core();
        std::unique_lock lock(c.mutex);
        c.check_writable();
        if (size == 0) return;
        if (c.busy) {  // a sender owns the stream: queue behind what it has
            c.buffer.append(data, size);
            c.pending += size;
            return;
        }
        c.busy = true;  // claim the stream for one attempt now
        lock.unlock();
        std::size_t sent = 0;
        if constexpr (requires(S& s) { s.try_write(data, size); }) {
            try {
                sent = c.stream.try_write(data, size);
            } catch (...) {
                lock.lock();
                c.fail(std::current_exception());
                throw;
            }
        }
        lock.lock();
        if (sent < size) {  // before what other tasks queued meanwhile
            c.buffer.insert(0, data + sent, size - sent);
            c.pending += size - sent;
        }
        if (c.buffer.empty()) {
            c.busy = false;
            if (c.closing) c.finish_close();
            return;
        }
        lock.unlock();
        try {
            weft::spawn(send_buffered(core_), "StreamWriter").detach();
        } catch (...) {  // not in a runtime: nobody could send the bytes
            lock.lock();
            c.fail(std::current_exception());
            throw;
        }
    }

    /// Waits while more than the high-water mark is buffered, until at most the low-water
    /// mark is. Rethrows a failed write.
    Task<void> drain() { return wait_until_below(false, core_); }
    /// Waits until every byte written so far was sent. Rethrows a failed write.
    Task<void> flush() { return wait_until_below(true, core_); }

    /// asyncio's set_write_buffer_limits: `low` defaults to high / 4; high < low is a UsageError.
    void set_write_buffer_limits(std::size_t high = kDefaultHigh, std::optional<std::size_t> low = std::nullopt) {
        std::size_t low_mark = low.value_or(high / 4);
        if (high < low_mark)
            throw UsageError("StreamWriter::set_write_buffer_limits: high (" + std::to_string(high) +
                             ") must be >= low (" + std::to_string(low_mark) + ")");
        Core& c = core();
        std::lock_guard lock(c.mutex);
        c.high = high;
        c.low = low_mark;
    }
    std::pair<std::size_t, std::size_t> write_buffer_limits() const {
        Core& c = core();
        std::lock_guard lock(c.mutex);
        return {c.low, c.high};
    }
    /// Bytes written but not yet sent (asyncio's transport.get_write_buffer_size()).
    std::size_t buffer_size() const {
        Core& c = core();
        std::lock_guard lock(c.mutex);
        return c.pending;
    }

    /// Closes the stream once the buffered bytes are sent (at once if none are). Idempotent.
    void close() noexcept {
        Core& c = *core_;
        std::lock_guard lock(c.mutex);
        if (c.closing) return;
        c.closing = true;
        if (!c.busy) c.finish_close();
    }
    bool is_closing() const noexcept {
        Core& c = *core_;
        std::lock_guard lock(c.mutex);
        return c.closing;
    }
    /// After close(): waits until the stream is closed; rethrows a failure of the last writes.
    Task<void> wait_closed() { return wait_closed_of(core_); }

private:
    static constexpr std::size_t kNobody = std::numeric_limits<std::size_t>::max();

    struct Core {
        explicit Core(S s) : stream(std::move(s)) {}
        S stream;
        mutable std::mutex mutex;  // guards what follows; never held across an await
        std::string buffer;        // bytes queued and not yet taken by the sender
        std::size_t pending = 0;   // buffer + what the sender took and has not sent
        std::size_t high = kDefaultHigh;
        std::size_t low = kDefaultLow;
        std::size_t wake_at = kNobody;  // a drain() waits for pending <= wake_at
        bool busy = false;              // someone writes the stream (write()'s attempt or the sender)
        bool closing = false;
        bool closed = false;
        std::exception_ptr error;
        Event progress;  // set for the drain() waiters
        Event finished;  // set once the stream is closed

        void check_writable() const {
            if (error) std::rethrow_exception(error);
            if (closing) throw UsageError("StreamWriter::write after close()");
        }
        void sent(std::size_t n) {
            pending -= n;
            if (pending <= wake_at) {
                wake_at = kNobody;
                progress.set();
            }
        }
        void fail(std::exception_ptr failure) {
            if (!error) error = std::move(failure);
            buffer.clear();
            pending = 0;
            busy = false;
            wake_at = kNobody;
            progress.set();
            if (closing) finish_close();
        }
        void finish_close() noexcept {
            if (closed) return;
            closed = true;
            stream.close();
            finished.set();
        }
    };

    Core& core() const {
        if (!core_) throw UsageError("StreamWriter: moved from");
        return *core_;
    }

    // The background sender: sends the queue until it is empty, then gives the stream back.
    static Task<void> send_buffered(std::shared_ptr<Core> core) {
        Core& c = *core;
        std::string chunk;
        try {
            for (;;) {
                {
                    std::lock_guard lock(c.mutex);
                    if (c.buffer.empty()) {
                        c.busy = false;
                        if (c.closing) c.finish_close();
                        break;
                    }
                    chunk.clear();
                    std::swap(chunk, c.buffer);
                }
                std::size_t done = 0;
                while (done < chunk.size()) {
                    std::size_t n = co_await c.stream.write(chunk.data() + done, chunk.size() - done);
                    done += n;
                    std::lock_guard lock(c.mutex);
                    c.sent(n);
                }
            }
        } catch (const CancelledError&) {
            std::lock_guard lock(c.mutex);
            c.fail(std::make_exception_ptr(
                IoError(ECANCELED, "StreamWriter: the background send was cancelled (runtime shutdown?)")));
            throw;
        } catch (...) {
            std::lock_guard lock(c.mutex);
            c.fail(std::current_exception());
        }
    }

    static Task<void> wait_until_below(bool everything, std::shared_ptr<Core> core) {
        Core& c = *core;
        bool waited = false;
        for (;;) {
            {
                std::lock_guard lock(c.mutex);
                if (c.error) std::rethrow_exception(c.error);
                std::size_t target = everything ? 0 : (waited ? c.low : c.high);
                if (c.pending <= target) break;
                c.wake_at = std::min(c.wake_at, everything ? std::size_t{0} : c.low);
                c.progress.clear();
            }
            waited = true;
            co_await c.progress.wait();
        }
    }

    static Task<void> wait_closed_of(std::shared_ptr<Core> core) {
        Core& c = *core;
        {
            std::lock_guard lock(c.mutex);
            if (!c.closing) throw UsageError("StreamWriter::wait_closed before close()");
        }
        co_await c.finished.wait();
        {
            std::lock_guard lock(c.mutex);
            if (c.error) std::rethrow_exception(c.error);
        }
        // A stream whose close goes on after close() returns (tls::Stream: until the peer
        // has every byte) says here how it ended. The stream is closed: nothing else uses it.
        if constexpr (requires(S& s) { s.wait_closed(); }) co_await c.stream.wait_closed();
    }

    std::shared_ptr<Core> core_;
};

template <class S>
StreamWriter(S) -> StreamWriter<S>;

}  // namespace weft::net
