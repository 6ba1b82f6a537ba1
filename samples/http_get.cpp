// http_get: a small curl. GETs a URL over http:// or https:// with weft::http::Client and
// prints the status line, the headers and the body's size (the body is streamed, not kept).
//
//   http_get https://example.com/                  # the system's CA store
//   http_get https://localhost:8443/ --cacert ca.pem
//   http_get http://127.0.0.1:8080/hello --follow  # up to 10 redirects
//
// Exit status 0 on any HTTP response, 1 with the error's message on stderr when there is
// none (refused, timed out, certificate not trusted, malformed response...), 2 on bad usage.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <weft/weft.hpp>

using namespace std::chrono_literals;

weft::Task<int> get(std::string url, weft::http::ClientOptions options) {
    weft::http::Client client(std::move(options));
    try {
        weft::http::ClientResponse r = co_await client.get(url);
        std::printf("HTTP/1.1 %d %.*s\n", r.status(), int(r.reason().size()), r.reason().data());
        for (const auto& [name, value] : r.headers()) std::printf("%s: %s\n", name.c_str(), value.c_str());
        std::vector<char> buffer(64 * 1024);
        std::size_t size = 0;
        while (std::size_t n = co_await r.read(buffer.data(), buffer.size())) size += n;
        std::printf("\n%zu bytes of body from %s\n", size, r.url().c_str());
        co_return 0;
    } catch (const weft::http::ClientError& e) {
        std::fprintf(stderr, "http_get: %s\n", e.what());
    } catch (const weft::UsageError& e) {
        std::fprintf(stderr, "http_get: %s\n", e.what());
    }
    co_return 1;
}

int main(int argc, char** argv) {
    std::string url;
    weft::http::ClientOptions options{.connect_timeout = 10s, .read_timeout = 30s};
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--cacert") == 0 && i + 1 < argc) {
            options.ca_file = argv[++i];
        } else if (std::strcmp(argv[i], "--insecure") == 0) {
            options.verify = false;
        } else if (std::strcmp(argv[i], "--follow") == 0) {
            options.max_redirects = 10;
        } else if (url.empty() && argv[i][0] != '-') {
            url = argv[i];
        } else {
            url.clear();
            break;
        }
    }
    if (url.empty()) {
        std::fprintf(stderr, "usage: http_get URL [--cacert FILE] [--insecure] [--follow]\n");
        return 2;
    }
    return weft::run(get(url, std::move(options)), {.workers = 1});
}
