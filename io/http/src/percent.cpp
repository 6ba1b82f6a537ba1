#include <weft/http/percent.hpp>

namespace weft::http {

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The byte that `text` holds at `i`, decoded, and how many input bytes it took (1 or 3).
char decoded_at(std::string_view text, std::size_t i, PlusIsSpace plus, std::size_t& taken) noexcept {
    taken = 1;
    char c = text[i];
    if (c == '+' && plus == PlusIsSpace::yes) return ' ';
    if (c != '%' || i + 2 >= text.size()) return c;
    int high = hex_value(text[i + 1]);
    int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return c;  // not an escape: the '%' stands for itself
    taken = 3;
    return char(high * 16 + low);
}

}  // namespace

std::size_t percent_decode_into(std::string_view text, std::string& out, PlusIsSpace plus) {
    const std::size_t before = out.size();
    for (std::size_t i = 0; i < text.size();) {
        std::size_t taken;
        out.push_back(decoded_at(text, i, plus, taken));
        i += taken;
    }
    return out.size() - before;
}

std::string percent_decode(std::string_view text, PlusIsSpace plus) {
    std::string out;
    out.reserve(text.size());
    percent_decode_into(text, out, plus);
    return out;
}

bool percent_decoded_equals(std::string_view encoded, std::string_view decoded) noexcept {
    std::size_t j = 0;
    for (std::size_t i = 0; i < encoded.size();) {
        std::size_t taken;
        char c = decoded_at(encoded, i, PlusIsSpace::no, taken);
        if (j == decoded.size() || decoded[j] != c) return false;
        ++j;
        i += taken;
    }
    return j == decoded.size();
}

std::string percent_encode(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(bytes.size());
    for (char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') ||
                                u == '-' || u == '.' || u == '_' || u == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(kHex[u >> 4]);
            out.push_back(kHex[u & 15]);
        }
    }
    return out;
}

}  // namespace weft::http
