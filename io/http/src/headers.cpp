#include <weft/http/headers.hpp>

#include <algorithm>

#include <weft/error.hpp>

namespace weft::http {
namespace {

constexpr char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr bool is_tchar(char c) noexcept {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return extra.find(c) != std::string_view::npos;
}

void check_field(std::string_view name, std::string_view value) {
    if (!is_valid_header_name(name)) {
        throw UsageError("http::Headers: invalid header name \"" + std::string(name) +
                         "\" (must be an RFC 9110 token)");
    }
    if (!is_valid_header_value(value)) {
        throw UsageError("http::Headers: the value of \"" + std::string(name) + "\" holds CR, LF or NUL");
    }
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) {
            return false;
        }
    }
    return true;
}

bool is_valid_header_name(std::string_view name) noexcept {
    return !name.empty() && std::all_of(name.begin(), name.end(), is_tchar);
}

bool is_valid_header_value(std::string_view value) noexcept {
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

Headers::Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    for (const auto& [name, value] : fields) {
        add(name, value);
    }
}

void Headers::add(std::string_view name, std::string_view value) {
    check_field(name, value);
    fields_.push_back({std::string(name), std::string(value)});
}

void Headers::set(std::string_view name, std::string_view value) {
    check_field(name, value);
    remove(name);
    fields_.push_back({std::string(name), std::string(value)});
}

std::size_t Headers::remove(std::string_view name) {
    return std::erase_if(fields_, [&](const HeaderField& f) { return iequals(f.name, name); });
}

std::optional<std::string_view> Headers::get(std::string_view name) const noexcept {
    for (const auto& f : fields_) {
        if (iequals(f.name, name)) {
            return std::string_view(f.value);
        }
    }
    return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& f : fields_) {
        if (iequals(f.name, name)) {
            out.emplace_back(f.value);
        }
    }
    return out;
}

}  // namespace weft::http
