// libFuzzer target: the server's request parsing (the same RequestParser the connection loop
// runs), on the input as one read, as 7-byte reads and byte by byte, checking that the views
// stay inside the input and that the three runs agree (fuzz_request_parser aborts if not).
#include <cstddef>
#include <cstdint>

#include "request_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    weft::http::detail::fuzz_request_parser(data, size);
    return 0;
}
