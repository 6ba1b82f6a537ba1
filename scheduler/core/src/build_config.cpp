// WEFT_ASSERT's failure path (weft/detail/build_config.hpp): out of line, so the check at
// each assertion stays one compare and a call nobody takes.
#include <weft/detail/build_config.hpp>

#include <spdlog/spdlog.h>

#include <cstdlib>

namespace weft::detail {

void assertion_failed(const char* condition, const char* file, int line) noexcept {
    spdlog::critical("weft: internal assertion failed: {} ({}:{})", condition, file, line);
    spdlog::default_logger_raw()->flush();
    std::abort();
}

}  // namespace weft::detail
