// weft::http::Client over https:// against a real nginx TLS site, started by the test in a
// temp dir with throwaway certificates (tests/support/test_certs.hpp: a test CA, a server
// certificate for localhost / 127.0.0.1 / ::1): requests by IP and by name with the test CA
// trusted, keep-alive reuse under concurrency, the wrong CA and the system store (which does
// not know the test CA) refused as ConnectCertificateError, a host the certificate does not
// name (127.0.0.2) refused, verify = false accepting it. Skipped when nginx or openssl is missing.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <weft/http/client.hpp>
#include <weft/http/errors.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>

#include "support/peer_process.hpp"
#include "support/test_certs.hpp"

using weft::http::Client;
using weft::http::ClientResponse;

namespace {

constexpr const char* kNginx = "/usr/sbin/nginx";

struct NginxTls {
    test::TempDir dir{"nginx_tls"};
    std::uint16_t port = test::free_port();
    std::unique_ptr<test::PeerProcess> process;

    explicit NginxTls(const test::TestCerts& certs) {
        std::string root = dir.path() + "/html";
        std::filesystem::create_directories(root);
        ::chmod(root.c_str(), 0755);
        dir.file("html/hello", "Hello over TLS!");
        std::string p = std::to_string(port);
        std::string user = ::getuid() == 0 ? "user nobody nogroup;\n" : "";
        std::string d = dir.path();
        std::string conf = dir.file(
            "nginx.conf", user + "worker_processes 1;\npid " + d + "/nginx.pid;\nerror_log " + d +
                              "/error.log warn;\nevents { worker_connections 1024; }\nhttp {\n access_log off;\n"
                              " default_type text/plain;\n keepalive_timeout 75s;\n client_body_temp_path " +
                              d + "/tb;\n proxy_temp_path " + d + "/tp;\n fastcgi_temp_path " + d +
                              "/tf;\n uwsgi_temp_path " + d + "/tu;\n scgi_temp_path " + d +
                              "/ts;\n server {\n  listen 127.0.0.1:" + p + " ssl;\n  listen 127.0.0.2:" + p +
                              " ssl;\n  ssl_certificate " + certs.cert_file + ";\n  ssl_certificate_key " +
                              certs.key_file + ";\n  root " + root + ";\n }\n}\n");
        process = std::make_unique<test::PeerProcess>(
            std::vector<std::string>{kNginx, "-p", d, "-c", conf, "-e", d + "/error.log", "-g", "daemon off;"});
        if (!test::wait_listening(port)) throw std::runtime_error("nginx did not start");
    }
    std::string url(const std::string& host, const std::string& path) const {
        return "https://" + host + ":" + std::to_string(port) + path;
    }
};

weft::Task<std::string> fetch_text(Client& client, std::string url) {
    ClientResponse r = co_await client.get(std::move(url));
    std::string body = co_await r.text();
    co_return body;
}

weft::Task<void> fetch_counted(Client& client, std::string url, std::atomic<int>& ok) {
    std::string body = co_await fetch_text(client, std::move(url));
    if (body == "Hello over TLS!") ok.fetch_add(1);
}

// The what() of the E that fetching `url` throws; "" if it throws none.
template <class E>
weft::Task<std::string> error_of(Client& client, std::string url) {
    try {
        co_await fetch_text(client, std::move(url));
    } catch (const E& e) {
        co_return std::string(e.what());
    }
    co_return std::string();
}

}  // namespace

TEST_CASE("http_client/tls: https against nginx: verified by the test CA, reused, wrong CA and host refused",
          "[http][client][tls]") {
    if (!test::have_executable(kNginx) || !test::have_program("openssl")) {
        WARN("nginx or openssl not found: skipped");
        return;
    }
    const test::TestCerts& certs = test::shared_test_certs();
    NginxTls nginx(certs);
    weft::run(
        [&]() -> weft::Task<void> {
            Client client({.limit = 20, .ca_file = certs.ca_file});
            std::string by_ip = co_await fetch_text(client, nginx.url("127.0.0.1", "/hello"));
            CHECK(by_ip == "Hello over TLS!");
            std::string by_name = co_await fetch_text(client, nginx.url("localhost", "/hello"));
            CHECK(by_name == "Hello over TLS!");

            std::atomic<int> ok{0};
            std::vector<weft::JoinHandle<void>> tasks;
            for (int i = 0; i < 300; ++i) {
                tasks.push_back(weft::spawn(fetch_counted(client, nginx.url("127.0.0.1", "/hello"), ok)));
            }
            for (auto& t : tasks) co_await std::move(t);
            CHECK(ok.load() == 300);
            CHECK(client.idle_count() <= 20);

            // 127.0.0.2 is served too, but the certificate does not name it.
            std::string mismatch =
                co_await error_of<weft::http::ConnectCertificateError>(client, nginx.url("127.0.0.2", "/hello"));
            CHECK(mismatch.find("certificate verify failed") != std::string::npos);

            Client wrong_ca({.ca_file = certs.other_ca_file});
            std::string untrusted =
                co_await error_of<weft::http::ConnectCertificateError>(wrong_ca, nginx.url("127.0.0.1", "/hello"));
            CHECK(untrusted.find(nginx.url("127.0.0.1", "/hello")) != std::string::npos);

            Client system_store;
            std::string unknown =
                co_await error_of<weft::http::ConnectCertificateError>(system_store, nginx.url("localhost", "/hello"));
            CHECK(!unknown.empty());

            Client unverified({.verify = false});
            std::string accepted = co_await fetch_text(unverified, nginx.url("127.0.0.2", "/hello"));
            CHECK(accepted == "Hello over TLS!");

            Client missing_ca({.ca_file = certs.dir + "/no-such-ca.pem"});
            std::string setup =
                co_await error_of<weft::http::ConnectError>(missing_ca, nginx.url("localhost", "/hello"));
            CHECK(setup.find("no-such-ca.pem") != std::string::npos);
        }(),
        {.workers = 2});
}
