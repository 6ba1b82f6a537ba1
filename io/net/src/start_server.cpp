#include <weft/net/start_server.hpp>

#include <mutex>
#include <utility>

#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/join_handle.hpp>
#include <weft/net/serve.hpp>
#include <weft/resolve.hpp>
#include <weft/spawn.hpp>

namespace weft::net {

namespace detail {

struct ServerState {
    StreamHandler handler;
    ServerOptions options;
    SocketAddress address;
    mutable std::mutex mutex;  // guards live, closed, acceptors
    std::size_t live = 0;      // connection handlers not yet ended
    bool closed = false;
    JoinHandle<void> acceptors;
    Event idle;     // set while live == 0 (kept so under `mutex`)
    Event stopped;  // the acceptors ended
    Event closing;  // close() was called
};

}  // namespace detail

namespace {

using detail::ServerState;

// Counts a connection from its accept to the end of its task (or the task's destruction
// unstarted, at runtime shutdown): wait_closed() waits for the count to reach zero.
class Ticket {
public:
    explicit Ticket(std::shared_ptr<ServerState> state) : state_(std::move(state)) {
        std::lock_guard lock(state_->mutex);
        if (state_->live++ == 0) state_->idle.clear();
    }
    Ticket(Ticket&&) noexcept = default;
    Ticket& operator=(Ticket&&) = delete;
    ~Ticket() {
        if (!state_) return;
        std::lock_guard lock(state_->mutex);
        if (--state_->live == 0) state_->idle.set();
    }
    ServerState& state() const noexcept { return *state_; }

private:
    std::shared_ptr<ServerState> state_;
};

Task<void> run_connection(Ticket ticket, TcpStream stream) {
    ServerState& state = ticket.state();
    Connection connection = make_streams(std::move(stream), state.options.limit);
    Task<void> handler = state.handler(std::move(connection.reader), std::move(connection.writer));
    co_await std::move(handler);
}

Task<void> run_acceptors(PerCoreListener listener, std::shared_ptr<ServerState> shared) {
    // A local, not the parameter: the state holds this task's JoinHandle, and a parameter
    // lives as long as the frame (that handle), a local only until the body ends.
    std::shared_ptr<ServerState> state = std::move(shared);
    struct Stopped {
        ServerState& state;
        ~Stopped() { state.stopped.set(); }
    } stopped{*state};
    // A plain lambda (not a coroutine): the connection task owns its parameters, so it
    // outlives this acceptor task safely.
    ConnectionHandler accept = [state](TcpStream stream) { return run_connection(Ticket(state), std::move(stream)); };
    co_await listener.serve(std::move(accept),
                            {.acceptors = state->options.acceptors, .nodelay = state->options.nodelay});
}

}  // namespace

Server& Server::operator=(Server&& other) noexcept {
    if (this != &other) {
        if (state_) close();
        state_ = std::move(other.state_);
    }
    return *this;
}

Server::~Server() {
    if (state_) close();
}

SocketAddress Server::local_address() const {
    if (!state_) throw UsageError("Server: not started (or moved from)");
    return state_->address;
}

bool Server::is_serving() const {
    if (!state_) return false;
    std::lock_guard lock(state_->mutex);
    return !state_->closed;
}

std::size_t Server::active_connections() const {
    if (!state_) return 0;
    std::lock_guard lock(state_->mutex);
    return state_->live;
}

void Server::close() {
    if (!state_) return;
    {
        std::lock_guard lock(state_->mutex);
        if (state_->closed) return;
        state_->closed = true;
        state_->acceptors.cancel();  // the acceptors stop; the listeners close (serve.hpp)
    }
    state_->closing.set();
}

Task<void> Server::wait_closed() {
    if (!state_) throw UsageError("Server::wait_closed: not started (or moved from)");
    std::shared_ptr<ServerState> state = state_;  // *this may move while we wait
    co_await state->stopped.wait();
    co_await state->idle.wait();  // no connection can start now: once set, it stays set
}

Task<void> Server::serve_forever() {
    if (!state_) throw UsageError("Server::serve_forever: not started (or moved from)");
    std::shared_ptr<ServerState> state = state_;
    {
        std::lock_guard lock(state->mutex);
        if (state->closed) throw UsageError("Server::serve_forever: the server is closed");
    }
    try {
        co_await state->closing.wait();
    } catch (const CancelledError&) {
        close();
        throw;
    }
}

Task<Server> start_server(StreamHandler handler, SocketAddress address, ServerOptions options) {
    if (!handler) throw UsageError("start_server: the handler is empty");
    auto state = std::make_shared<ServerState>();
    state->handler = std::move(handler);
    state->options = options;
    state->idle.set();
    PerCoreListener listener = PerCoreListener::bind(address, options.backlog);
    state->address = listener.local_address();
    state->acceptors = weft::spawn(run_acceptors(std::move(listener), state), "start_server acceptors");
    co_return Server(std::move(state));
}

Task<Server> start_server(StreamHandler handler, std::string host, std::uint16_t port, ServerOptions options) {
    if (host.empty()) host = "0.0.0.0";
    std::optional<SocketAddress> address = SocketAddress::try_ip(host, port);
    if (!address) {
        std::vector<SocketAddress> found = co_await weft::resolve(host, port);
        if (found.empty()) throw IoError(EADDRNOTAVAIL, "start_server: no address for '" + host + "'");
        address = found.front();
    }
    co_return co_await start_server(std::move(handler), *address, options);
}

}  // namespace weft::net
