#include "date_cache.hpp"

#include <time.h>

namespace weft::http::detail {

namespace {
struct DateCache {
    time_t second = -1;
    char line[64];
    std::size_t size = 0;
};
thread_local DateCache cache;
}  // namespace

std::string_view date_line() noexcept {
    timespec ts;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != cache.second) {
        tm parts;
        ::gmtime_r(&ts.tv_sec, &parts);
        cache.size = ::strftime(cache.line, sizeof cache.line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &parts);
        cache.second = ts.tv_sec;
    }
    return {cache.line, cache.size};
}

}  // namespace weft::http::detail
