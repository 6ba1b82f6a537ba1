#include <weft/net/stream.hpp>

#include <cstring>

#include <weft/detail/io_operation.hpp>

namespace weft::net {

Task<std::size_t> Stream::read_until(std::string& line, char delimiter, std::size_t max) {
    char chunk[4096];
    std::size_t appended = 0;
    while (appended < max) {
        std::size_t want = std::min(sizeof chunk, max - appended);
        // Peek, then consume exactly through the delimiter: nothing beyond it is taken.
        std::size_t seen = co_await ReadAwaiter(descriptor_, {descriptor_.fd(), chunk, want, MSG_PEEK, kind_});
        if (seen == 0) co_return appended;
        const void* hit = std::memchr(chunk, delimiter, seen);
        std::size_t take = hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - chunk) + 1 : seen;
        std::size_t got = co_await read(chunk, take);  // the peeked bytes are there: no wait
        line.append(chunk, got);
        appended += got;
        if (hit && got == take) co_return appended;
    }
    co_return appended;
}

std::size_t Stream::try_write(const void* data, std::size_t size) {
    descriptor_.require_open();
    if (size == 0) return 0;
    detail::WriteSomeOp op{descriptor_.fd(), data, size, kind_};
    return weft::detail::try_now(descriptor_.registered(), op).value_or(0);
}

void Stream::shutdown(ShutdownMode how) {
    descriptor_.require_open();
    detail::shutdown_socket(descriptor_.fd(), static_cast<int>(how));
}

}  // namespace weft::net
