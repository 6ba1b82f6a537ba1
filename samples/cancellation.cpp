// cancellation: asyncio's task.cancel(). A cancelled task gets CancelledError at the await it
// is suspended in; its cleanup (a catch that rethrows, or RAII) runs there, and whoever awaits
// it sees CancelledError too. shield() protects a piece of work from its caller's
// cancellation: the caller stops waiting at once, the shielded work runs to its end.
// Checks that every cleanup ran and the shielded save completed; exits 1 otherwise.
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

std::atomic<int> connections_open{0};

// RAII cleanup: runs however the task ends, cancellation included.
struct Connection {
    Connection() { ++connections_open; }
    ~Connection() { --connections_open; }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
};

bool worker_cleaned_up = false;

// readme: begin cleanup
weft::Task<void> worker(weft::Event& started) {
    Connection connection;
    try {
        started.set();
        co_await weft::sleep(1h);  // await asyncio.sleep(3600): cancelled here
    } catch (const weft::CancelledError& e) {
        //   except asyncio.CancelledError:
        //       cleanup(); raise
        std::cout << "worker: cancelled (\"" << e.message() << "\"), cleaning up\n";
        worker_cleaned_up = true;
        throw;  // never swallow a cancellation: the task must end cancelled
    }
}
// readme: end cleanup

// --- shield ----------------------------------------------------------------------------------
std::atomic<int> saves_done{0};

weft::Task<void> save(weft::Event& saving, weft::Event& saved) {
    saving.set();
    co_await weft::sleep(50ms);  // the write takes a while; nothing can stop it now
    ++saves_done;
    saved.set();
}

// readme: begin shield
weft::Task<void> handler(weft::Event& saving, weft::Event& saved) {
    //   await asyncio.shield(save())
    co_await weft::shield(save(saving, saved));  // raises CancelledError at once if handler is cancelled
    std::cout << "handler: saved\n";
}
// readme: end shield

weft::Task<int> cancellation() {
    int wrong = 0;

    //   task = asyncio.create_task(worker())
    //   task.cancel('shutting down')
    //   try: await task
    //   except asyncio.CancelledError: print('cancelled')
    weft::Event started;
    // readme: begin cancel
    weft::JoinHandle<void> task = weft::spawn(worker(started));
    co_await started.wait();
    task.cancel("shutting down");
    // readme: end cancel
    try {
        co_await task;
        std::cout << "main: the worker finished?\n";
        ++wrong;
    } catch (const weft::CancelledError&) {
        std::cout << "main: worker cancelled: " << (task.cancelled() ? "task.cancelled() is true" : "??") << '\n';
    }
    wrong += !worker_cleaned_up + !task.cancelled() + (connections_open != 0);

    // Cancel a handler in the middle of its shielded save.
    weft::Event saving, saved;
    weft::JoinHandle<void> request = weft::spawn(handler(saving, saved));
    co_await saving.wait();
    request.cancel();
    try {
        co_await request;
        ++wrong;
    } catch (const weft::CancelledError&) {
        std::cout << "main: handler cancelled while saving; saves done so far: " << saves_done << '\n';
    }
    // The save goes on in the background: wait (at most 5 s) until it is done.
    co_await weft::wait_for(saved.wait(), 5s);
    std::cout << "main: shielded saves completed: " << saves_done << '\n';
    wrong += (saves_done != 1);
    co_return wrong;
}

int main() {
    int wrong = weft::run(cancellation(), weft::RuntimeOptions{.workers = 2});
    if (wrong != 0) return 1;
    std::cout << "cancellation: worker cleaned up and ended cancelled, the shielded save completed\n";
}
