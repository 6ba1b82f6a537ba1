// The fuzz target's body (request_parser.hpp): the same parse steps as Connection's loop,
// with the input arriving whole, in 7-byte reads and byte by byte; the three runs must agree.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "request_parser.hpp"

namespace weft::http::detail {

namespace {

[[noreturn]] void broken(const char* what) {
    std::fprintf(stderr, "weft::http request parser invariant broken: %s\n", what);
    std::abort();
}

struct Outcome {
    std::size_t requests = 0;  // complete messages
    int error = 0;             // status of the error that stopped it, 0 if none
    std::string transcript;    // method, target, headers and body of each message
};

// Feeds data[0, size) to a parser `step` bytes at a time (0: all at once), as the server does.
Outcome run(const char* data, std::size_t size, std::size_t step) {
    RequestParser parser({.max_header_bytes = 4096, .max_headers = 32});
    Request request;
    std::vector<std::string_view> pieces;
    Outcome out;
    std::size_t begin = 0;
    std::size_t avail = step ? std::min(step, size) : size;
    auto inside = [&](std::string_view v) {
        if (!v.empty() && (v.data() < data || v.data() + v.size() > data + avail)) broken("view outside the input");
    };
    bool in_body = false;
    for (;;) {
        ParseResult r;
        if (!in_body) {
            r = parser.parse_head(data + begin, avail - begin, request);
            if (r.consumed > avail - begin) broken("head consumed more than given");
            begin += r.consumed;
            if (r.kind == ParseResult::error) {
                out.error = r.status;
                return out;
            }
            if (r.kind == ParseResult::head) {
                inside(request.method_name());
                inside(request.target());
                out.transcript.append(request.method_name()).append(" ").append(request.target()).append("\n");
                for (const HeaderView& h : request.headers()) {
                    inside(h.name);
                    inside(h.value);
                    out.transcript.append(h.name).append(": ").append(h.value).append("\n");
                }
                if (request.path().size() > request.target().size()) broken("path longer than target");
                in_body = !parser.message_done();
                if (!in_body) ++out.requests;
                if (parser.stopped()) return out;
                continue;
            }
        } else {
            pieces.clear();
            r = parser.parse_body(data + begin, avail - begin, pieces);
            if (r.kind == ParseResult::error) {
                out.error = 400;
                return out;
            }
            if (r.consumed > avail - begin) broken("body consumed more than given");
            begin += r.consumed;
            for (std::string_view p : pieces) {
                inside(p);
                out.transcript.append(p);
            }
            if (parser.message_done()) {
                in_body = false;
                ++out.requests;
                out.transcript.append("\n--\n");
                continue;
            }
        }
        // need more bytes
        if (avail == size) return out;
        avail = step ? std::min(size, avail + step) : size;
    }
}

}  // namespace

std::size_t fuzz_request_parser(const std::uint8_t* bytes, std::size_t size) {
    const char* data = reinterpret_cast<const char*>(bytes);
    Outcome whole = run(data, size, 0);
    Outcome sevens = run(data, size, 7);
    Outcome ones = run(data, size, 1);
    // Split reads must parse the same messages as one read (an error may come at another
    // point only for a head over the size limit, which split reads see sooner).
    for (const Outcome* o : {&sevens, &ones}) {
        if (whole.error == 0 && o->error == 0 && (o->requests != whole.requests || o->transcript != whole.transcript))
            broken("split reads parsed differently");
    }
    return whole.requests;
}

}  // namespace weft::http::detail
