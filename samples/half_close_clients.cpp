// half_close_clients: a test helper for echo_server_test.sh (not a sample). Plain blocking
// sockets and poll(2), no weft: each client connects to 127.0.0.1:PORT, writes a message,
// half-closes (shutdown(SHUT_WR)), and reads the echo to end of stream, which the server
// must send by closing its side once it has read the client's FIN.
//
//   half_close_clients PORT SEQUENTIAL CONCURRENT
//
// First SEQUENTIAL clients one after another, then CONCURRENT clients at once. Exits 0 if
// every client got its message back whole and then end of stream; otherwise prints what
// went wrong and exits 1. A client that sees no end of stream within 10 s counts as left
// open by the server (a hang guard, not a performance limit).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

constexpr int kHangGuardMs = 10'000;

struct Client {
    int fd = -1;
    std::string sent;
    std::string back;
    bool eof = false;
};

std::string message(int id) {
    std::string bytes(1 + static_cast<std::size_t>(id * 37 % 3000), '\0');
    unsigned x = static_cast<unsigned>(id) * 2654435761u + 1;
    for (char& c : bytes) {
        x = x * 1664525u + 1013904223u;
        c = static_cast<char>(x >> 24);
    }
    return bytes;
}

bool start(Client& client, int id, unsigned short port) {
    client.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (client.fd < 0 || ::connect(client.fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        std::perror("half_close_clients: connect");
        return false;
    }
    client.sent = message(id);
    // Small messages: one send() each, then the FIN right behind the data.
    if (::send(client.fd, client.sent.data(), client.sent.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(client.sent.size())) {
        std::perror("half_close_clients: send");
        return false;
    }
    ::shutdown(client.fd, SHUT_WR);
    return true;
}

// Reads every client to end of stream; returns how many saw it within the hang guard.
int finish(std::vector<Client>& clients) {
    int open = 0;
    for (Client& c : clients) open += c.eof ? 0 : 1;
    while (open > 0) {
        std::vector<pollfd> fds;
        std::vector<Client*> who;
        for (Client& c : clients) {
            if (c.eof) continue;
            fds.push_back({c.fd, POLLIN, 0});
            who.push_back(&c);
        }
        int ready = ::poll(fds.data(), fds.size(), kHangGuardMs);
        if (ready <= 0) break;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (!fds[i].revents) continue;
            char buf[4096];
            ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
            if (n > 0) {
                who[i]->back.append(buf, static_cast<std::size_t>(n));
            } else {
                who[i]->eof = true;  // end of stream (or an error, reported as a mismatch)
                --open;
            }
        }
    }
    int closed = 0;
    for (Client& c : clients) {
        if (c.eof && c.back == c.sent) ++closed;
        ::close(c.fd);
        c.fd = -1;
    }
    return closed;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: half_close_clients PORT SEQUENTIAL CONCURRENT\n");
        return 2;
    }
    auto port = static_cast<unsigned short>(std::atoi(argv[1]));
    int sequential = std::atoi(argv[2]);
    int concurrent = std::atoi(argv[3]);

    int sequential_closed = 0;
    for (int i = 0; i < sequential; ++i) {
        std::vector<Client> one(1);
        if (!start(one[0], i, port)) return 1;
        int closed = finish(one);
        sequential_closed += closed;
        if (closed == 0) break;  // one left open is enough to fail; don't wait on the rest
    }
    std::vector<Client> many(static_cast<std::size_t>(concurrent));
    for (int i = 0; i < concurrent; ++i)
        if (!start(many[static_cast<std::size_t>(i)], sequential + i, port)) return 1;
    int concurrent_closed = finish(many);

    std::printf("half_close_clients: sequential %d/%d, concurrent %d/%d echoed and closed by the server\n",
                sequential_closed, sequential, concurrent_closed, concurrent);
    return sequential_closed == sequential && concurrent_closed == concurrent ? 0 : 1;
}
