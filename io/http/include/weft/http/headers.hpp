// weft::http::Headers: an HTTP header block that owns its names and values, in the order
// they were added, with case-insensitive lookup (RFC 9110: field names are case-insensitive).
//
//   weft::http::Headers h;
//   h.add("Content-Type", "text/plain");
//   h.add("Set-Cookie", "a=1");
//   h.add("set-cookie", "b=2");                        // repeated fields are kept, in order
//   h.get("content-type");                             // optional<string_view> "text/plain"
//   h.set("Content-Type", "application/json");        // replaces every earlier value
//   for (const auto& [name, value] : h) ...
//
// Names and values are checked when added: a name must be an RFC 9110 token and a value must
// not hold CR, LF or NUL (header injection), else UsageError. Lookup is linear: header blocks
// are short. A server's Request gives views into its read buffer instead (no copy).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace weft::http {

/// ASCII case-insensitive equality, for header names and tokens.
bool iequals(std::string_view a, std::string_view b) noexcept;

/// True if `name` is a valid field name (an RFC 9110 token).
bool is_valid_header_name(std::string_view name) noexcept;
/// True if `value` holds no CR, LF or NUL.
bool is_valid_header_value(std::string_view value) noexcept;

struct HeaderField {
    std::string name;
    std::string value;
};

class Headers {
public:
    using const_iterator = std::vector<HeaderField>::const_iterator;

    Headers() = default;
    Headers(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

    /// Appends a field (keeps any earlier one of the same name). UsageError if invalid.
    void add(std::string_view name, std::string_view value);
    /// Removes every field named `name`, then appends this one.
    void set(std::string_view name, std::string_view value);
    /// Removes every field named `name`; returns how many.
    std::size_t remove(std::string_view name);

    /// The first value of `name`, if any.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    bool contains(std::string_view name) const noexcept { return get(name).has_value(); }
    /// Every value of `name`, in order.
    std::vector<std::string_view> get_all(std::string_view name) const;

    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    void clear() noexcept { fields_.clear(); }
    const_iterator begin() const noexcept { return fields_.begin(); }
    const_iterator end() const noexcept { return fields_.end(); }

private:
    std::vector<HeaderField> fields_;
};

}  // namespace weft::http
