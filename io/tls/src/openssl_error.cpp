#include "openssl_error.hpp"

#include <openssl/err.h>

#include <weft/tls/tls_error.hpp>

namespace weft::tls::detail {

std::string take_openssl_errors(std::string_view fallback) {
    std::string text;
    const char* file = nullptr;
    int line = 0;
    const char* data = nullptr;
    int flags = 0;
    while (unsigned long code = ERR_get_error_all(&file, &line, nullptr, &data, &flags)) {
        if (!text.empty()) text += "; ";
        const char* reason = ERR_reason_error_string(code);
        if (reason) {
            text += reason;
        } else {
            char buf[256];
            ERR_error_string_n(code, buf, sizeof buf);
            text += buf;
        }
        if (data && (flags & ERR_TXT_STRING) && *data) {
            text += " (";
            text += data;
            text += ")";
        }
    }
    return text.empty() ? std::string(fallback) : text;
}

void throw_tls_error(std::string_view context) { throw TlsError(std::string(context) + ": " + take_openssl_errors()); }

}  // namespace weft::tls::detail
