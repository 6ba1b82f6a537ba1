#include <weft/net/detail/descriptor.hpp>

#include <unistd.h>

#include <weft/error.hpp>

namespace weft::net::detail {

namespace {
constexpr auto acquire = weft::detail::memory_order_acquire;
constexpr auto release = weft::detail::memory_order_release;
constexpr auto relaxed = weft::detail::memory_order_relaxed;
}  // namespace

IoSource* Descriptor::register_source() {
    std::lock_guard lock(register_mutex_);  // a reader and a writer may both get here first
    if (IoSource* source = source_.load(acquire)) return source;
    IoSource* source =
        pinned_worker_ >= 0 ? IoSource::open_on(fd_, static_cast<unsigned>(pinned_worker_)) : IoSource::open(fd_);
    source_.store(source, release);
    return source;
}

void Descriptor::throw_closed() {
    throw UsageError("weft::net: stream is closed (close() was called on this side, or it was moved from)");
}

void Descriptor::close() noexcept {
    // Deregister before close(): the fd number may be reused at once by another thread.
    if (IoSource* source = source_.exchange(nullptr, relaxed)) source->close();
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

}  // namespace weft::net::detail
