// weft::http::Client against a real nginx, started by the test in a temp dir on a free port:
// Content-Length files, a chunked response (nginx's SSI output is chunked), many concurrent
// keep-alive requests on 2 workers, and a 100 MB body streamed with a checksum through a
// 64 KiB buffer (memory stays bounded: the process's peak RSS grows by far less than 100 MB).
// Skipped (with a warning) when nginx is missing.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <weft/http/client.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

#include "support/peer_process.hpp"

using weft::http::Client;
using weft::http::ClientResponse;

namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";

std::uint64_t fnv1a(std::uint64_t h, const char* data, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
        h ^= static_cast<unsigned char>(data[i]);
        h *= 1099511628211ull;
    }
    return h;
}
constexpr std::uint64_t kFnvStart = 14695981039346656037ull;
constexpr std::size_t kBig = 100u * 1024 * 1024;

struct Nginx {
    test::TempDir dir{"nginx"};
    std::uint16_t port = test::free_port();
    std::uint64_t big_sum = kFnvStart;
    std::unique_ptr<test::PeerProcess> process;

    Nginx() {
        std::string root = dir.path() + "/html";
        std::filesystem::create_directories(root + "/ssi");
        ::chmod(root.c_str(), 0755);
        ::chmod((root + "/ssi").c_str(), 0755);
        dir.file("html/hello", "Hello, World!");
        dir.file("html/ssi/page.html", "<p>before</p><!--# echo var=\"x\" default=\"middle\" --><p>after</p>");
        {
            // 100 MB of a deterministic pattern, checksummed as it is written.
            std::ofstream big(root + "/big", std::ios::binary);
            std::string block = std::string(1 << 20, '\0');
            std::uint32_t x = 12345;
            for (std::size_t written = 0; written < kBig; written += block.size()) {
                for (auto& c : block) {
                    x = x * 1664525u + 1013904223u;
                    c = static_cast<char>(x >> 24);
                }
                big.write(block.data(), static_cast<std::streamsize>(block.size()));
                big_sum = fnv1a(big_sum, block.data(), block.size());
            }
        }
        ::chmod((root + "/big").c_str(), 0644);
        std::string user = ::getuid() == 0 ? "user nobody nogroup;\n" : "";
        std::string conf = dir.file(
            "nginx.conf",
            user + "worker_processes 1;\npid " + dir.path() + "/nginx.pid;\nerror_log " + dir.path() +
                "/error.log warn;\nevents { worker_connections 4096; }\nhttp {\n access_log off;\n"
                " types { text/html html; }\n default_type application/octet-stream;\n keepalive_timeout 75s;\n"
                " keepalive_requests 100000;\n gzip off;\n"
                " client_body_temp_path " + dir.path() + "/tmp_body;\n proxy_temp_path " + dir.path() +
                "/tmp_proxy;\n fastcgi_temp_path " + dir.path() + "/tmp_fcgi;\n uwsgi_temp_path " + dir.path() +
                "/tmp_uwsgi;\n scgi_temp_path " + dir.path() + "/tmp_scgi;\n"
                " server {\n  listen 127.0.0.1:" + std::to_string(port) + ";\n  root " + root +
                ";\n  location /ssi/ { ssi on; }\n }\n}\n");
        process = std::make_unique<test::PeerProcess>(std::vector<std::string>{
            kNginx, "-p", dir.path(), "-c", conf, "-e", dir.path() + "/error.log", "-g", "daemon off;"});
        if (!test::wait_listening(port)) throw std::runtime_error("nginx did not start");
    }
    std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port) + path; }
};

weft::Task<void> fetch_hello(Client& client, std::string url, std::atomic<int>& ok) {
    ClientResponse r = co_await client.get(std::move(url));
    std::string text = co_await r.text();
    if (r.status() == 200 && text == "Hello, World!") ok.fetch_add(1);
}

long peak_rss_kb() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss;
}

}  // namespace

TEST_CASE("http_client/nginx: files, a chunked (SSI) response, 2,000 concurrent keep-alive GETs, a 100 MB body",
          "[http][client][nginx]") {
    if (!test::have_executable(kNginx)) {
        WARN("nginx not found: skipped");
        return;
    }
    Nginx nginx;
    weft::run(
        [&]() -> weft::Task<void> {
            Client client({.limit = 50});
            ClientResponse hello = co_await client.get(nginx.url("/hello"));
            CHECK(hello.status() == 200);
            CHECK(hello.headers().get("content-length") == "13");
            std::string body = co_await hello.text();
            CHECK(body == "Hello, World!");

            ClientResponse ssi = co_await client.get(nginx.url("/ssi/page.html"));
            CHECK(ssi.status() == 200);
            CHECK(ssi.headers().get("transfer-encoding") == "chunked");
            std::string page = co_await ssi.text();
            CHECK(page == "<p>before</p>middle<p>after</p>");

            ClientResponse missing = co_await client.get(nginx.url("/nope"));
            CHECK(missing.status() == 404);
            co_await missing.text();

            std::atomic<int> ok{0};
            std::vector<weft::JoinHandle<void>> tasks;
            for (int i = 0; i < 2000; ++i) {
                tasks.push_back(weft::spawn(fetch_hello(client, nginx.url("/hello"), ok)));
            }
            for (auto& t : tasks) co_await std::move(t);
            CHECK(ok.load() == 2000);
            CHECK(client.idle_count() <= 50);

            long rss_before = peak_rss_kb();
            ClientResponse big = co_await client.get(nginx.url("/big"));
            CHECK(big.headers().get("content-length") == std::to_string(kBig));
            std::vector<char> buffer(64 * 1024);
            std::uint64_t sum = kFnvStart;
            std::size_t total = 0;
            for (;;) {
                std::size_t n = co_await big.read(buffer.data(), buffer.size());
                if (n == 0) break;
                sum = fnv1a(sum, buffer.data(), n);
                total += n;
            }
            CHECK(total == kBig);
            CHECK(sum == nginx.big_sum);
            CHECK(peak_rss_kb() - rss_before < 50 * 1024);  // never the whole body in memory
        }(),
        {.workers = 2});
}
