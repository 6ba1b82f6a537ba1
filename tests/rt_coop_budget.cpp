// The cooperative budget (DESIGN.md): a task whose awaits are always ready (a queue that always
// has items, a free lock, an event already set, children that finish inline) must not keep its
// worker from the loop: after a budget of ready awaits it yields, so the worker's timers,
// sockets and other tasks still run. On one worker, a spinner that would otherwise never
// suspend shares it with a sleep(1ms) and a socket read; both must complete while it spins.
#include <catch2/catch.hpp>

#include <weft/net/unix_stream.hpp>
#include <weft/sleep.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

using namespace std::chrono_literals;

namespace {

// Far more ready awaits than a 1 ms sleep needs: reaching it means the others were starved.
constexpr std::int64_t kGiveUp = 20'000'000;

enum class Kind { queue, lock, event, join };

weft::Task<int> ready_child() { co_return 1; }

weft::Task<void> sleeper(std::atomic<int>* done) {
    co_await weft::sleep(1ms);
    done->fetch_add(1);
}

weft::Task<void> reader(weft::net::UnixStream* stream, std::atomic<int>* done) {
    char byte = 0;
    std::size_t n = co_await stream->read(&byte, 1);
    CHECK(n == 1);
    done->fetch_add(1);
}

weft::Task<std::int64_t> spinner(Kind kind, weft::net::UnixStream* writer, std::atomic<int>* done) {
    weft::Queue<int> queue;
    weft::Lock lock;
    weft::Event event;
    event.set();
    queue.put_nowait(1);
    co_await writer->write_all("x", 1);  // the reader's byte: it arrives through the reactor
    std::int64_t spins = 0;
    while (done->load() < 2 && spins < kGiveUp) {
        switch (kind) {
            case Kind::queue: {
                int v = co_await queue.get();  // always an item: never waits
                queue.put_nowait(v);
                break;
            }
            case Kind::lock: {
                auto held = co_await lock.lock();  // always free
                break;
            }
            case Kind::event:
                co_await event.wait();  // always set
                break;
            case Kind::join: {
                int v = co_await weft::spawn(ready_child());  // runs inline, finishes at once
                spins += v - 1;
                break;
            }
        }
        ++spins;
    }
    co_return spins;
}

weft::Task<bool> starve(Kind kind) {
    auto [a, b] = weft::net::UnixStream::pair();
    std::atomic<int> done{0};
    auto read = weft::spawn(reader(&b, &done));
    co_await weft::yield_now();  // the reader waits on its socket
    co_await weft::yield_now();
    auto sleep = weft::spawn(sleeper(&done));
    co_await weft::yield_now();  // the sleeper's timer is armed
    auto spin = weft::spawn(spinner(kind, &a, &done));
    std::int64_t spins = co_await spin;
    co_await sleep;
    co_await read;
    CHECK(spins < kGiveUp);
    co_return done.load() == 2;
}

}  // namespace

TEST_CASE("cooperative budget: a task whose awaits are always ready lets its worker's timers and sockets run",
          "[budget]") {
    const Kind kind = GENERATE(Kind::queue, Kind::lock, Kind::event, Kind::join);
    CAPTURE(static_cast<int>(kind));
    bool both = weft::run(starve(kind), {.workers = 1});
    CHECK(both);
}
