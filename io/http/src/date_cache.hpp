// detail::date_line(): "Date: <IMF-fixdate>\r\n" for responses, formatted at most once a second
// per thread (a coarse clock read per call, a strftime when the second changed).
#pragma once

#include <string_view>

namespace weft::http::detail {

std::string_view date_line() noexcept;

}  // namespace weft::http::detail
