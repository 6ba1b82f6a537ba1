// Throwaway certificates for the TLS tests, made at test time with the `openssl` command:
//
//   if (!test::have_program("openssl")) { WARN("openssl not found: skipped"); return; }
//   const test::TestCerts& certs = test::shared_test_certs();   // made once per process
//   auto server = weft::tls::Context::server(certs.cert_file, certs.key_file);
//   auto client = weft::tls::Context::client({.ca_file = certs.ca_file});
//
// What they are (P-256 keys, valid for two days from now):
//   ca_file        a CA certificate ("weft test CA"), the one to trust
//   cert_file      a server certificate signed by it: CN localhost, SAN DNS:localhost,
//                  IP:127.0.0.1, IP:::1, serverAuth; key_file is its key (unencrypted PEM)
//   other_ca_file  a second, unrelated CA: trusting it alone must make verification fail
//   client_cert_file / client_key_file  a client certificate signed by the CA: CN "weft test
//                  client", O "weft", clientAuth (mutual TLS)
//   other_client_cert_file / other_client_key_file  the same, signed by the other CA
//   dir            the temporary directory holding them (and the CA keys, ca.key, other_ca.key)
// make_test_certs() makes a fresh set in a new directory, removed when the TestCerts is
// destroyed; shared_test_certs() makes one set per test process, removed at exit.
// A failing openssl command throws std::runtime_error with its output.
// (Also reachable as weft::test::TestCerts / weft::test::make_test_certs.)
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace test {

/// Whether `program` is on PATH (tests skip, with a WARN, when an external peer is missing).
inline bool have_program(const std::string& program) {
    return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

class TestCerts {
public:
    TestCerts() = default;
    explicit TestCerts(std::string directory)
        : dir(std::move(directory)),
          ca_file(dir + "/ca.pem"),
          cert_file(dir + "/server.pem"),
          key_file(dir + "/server.key"),
          other_ca_file(dir + "/other_ca.pem"),
          client_cert_file(dir + "/client.pem"),
          client_key_file(dir + "/client.key"),
          other_client_cert_file(dir + "/other_client.pem"),
          other_client_key_file(dir + "/other_client.key") {}
    TestCerts(TestCerts&& other) noexcept { *this = std::move(other); }
    TestCerts& operator=(TestCerts&& other) noexcept {
        std::swap(dir, other.dir);
        std::swap(ca_file, other.ca_file);
        std::swap(cert_file, other.cert_file);
        std::swap(key_file, other.key_file);
        std::swap(other_ca_file, other.other_ca_file);
        std::swap(client_cert_file, other.client_cert_file);
        std::swap(client_key_file, other.client_key_file);
        std::swap(other_client_cert_file, other.other_client_cert_file);
        std::swap(other_client_key_file, other.other_client_key_file);
        return *this;
    }
    ~TestCerts() {
        std::error_code ignored;
        if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
    }

    std::string dir;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    std::string other_ca_file;
    std::string client_cert_file;
    std::string client_key_file;
    std::string other_client_cert_file;
    std::string other_client_key_file;
};

namespace detail {

// Runs `command` in `dir` (a shell line); throws with its output if it fails.
inline void run_openssl(const std::string& dir, const std::string& command) {
    std::string log = dir + "/openssl.log";
    std::string line = "cd '" + dir + "' && " + command + " >'" + log + "' 2>&1";
    if (std::system(line.c_str()) != 0) {
        std::ifstream in(log);
        std::stringstream output;
        output << in.rdbuf();
        throw std::runtime_error("test certificates: `" + command + "` failed:\n" + output.str());
    }
}

inline void make_ca(const std::string& dir, const std::string& name, const std::string& common_name) {
    run_openssl(dir, "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name +
                         ".key -out " + name + ".pem -days 2 -subj '/CN=" + common_name + "'");
}

}  // namespace detail

/// A fresh CA, server certificate and unrelated CA in a new temporary directory.
inline TestCerts make_test_certs() {
    std::string pattern = std::filesystem::temp_directory_path().string() + "/weft_certs_XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("test certificates: mkdtemp failed");
    TestCerts certs(pattern);
    const std::string& dir = certs.dir;
    detail::make_ca(dir, "ca", "weft test CA");
    detail::make_ca(dir, "other_ca", "weft other test CA");
    detail::run_openssl(dir,
                        "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key "
                        "-out server.csr -subj '/CN=localhost'");
    std::ofstream(dir + "/server.ext") << "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                                          "basicConstraints=CA:FALSE\n"
                                          "keyUsage=critical,digitalSignature\n"
                                          "extendedKeyUsage=serverAuth\n";
    std::mt19937_64 random(std::random_device{}());
    std::ostringstream serial;
    serial << std::hex << (random() >> 1);
    detail::run_openssl(dir, "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 0x" + serial.str() +
                                 " -days 2 -extfile server.ext -out server.pem");
    std::ofstream(dir + "/client.ext") << "basicConstraints=CA:FALSE\n"
                                          "keyUsage=critical,digitalSignature\n"
                                          "extendedKeyUsage=clientAuth\n";
    for (const char* name : {"client", "other_client"}) {
        const std::string ca = std::string(name) == "client" ? "ca" : "other_ca";
        detail::run_openssl(
            dir, std::string("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ") + name +
                     ".key -out " + name + ".csr -subj '/O=weft/CN=weft test client'");
        std::ostringstream client_serial;
        client_serial << std::hex << (random() >> 1);
        detail::run_openssl(dir, std::string("openssl x509 -req -in ") + name + ".csr -CA " + ca + ".pem -CAkey " + ca +
                                     ".key -set_serial 0x" + client_serial.str() +
                                     " -days 2 -extfile client.ext -out " + name + ".pem");
    }
    return certs;
}

/// One set per test process (made on first use, thread-safe), removed at exit.
inline const TestCerts& shared_test_certs() {
    static const TestCerts certs = make_test_certs();
    return certs;
}

}  // namespace test

namespace weft::test {
using ::test::have_program;
using ::test::make_test_certs;
using ::test::shared_test_certs;
using ::test::TestCerts;
}  // namespace weft::test
