// The elastic blocking pool behind offload(): Tokio's blocking-pool design.
//
//   BlockingPool pool("weft", /*max_threads=*/512, /*keep_alive=*/10s);
//   pool.submit(call);            // from a loop: never blocks beyond a short lock
//   auto dropped = pool.close();  // shutdown: refuse more, hand back the queue
//   pool.release_threads();       // join the threads that left, detach the busy ones
//
// One FIFO of calls under one mutex (a blocking call costs microseconds at least, so the
// lock is not the bottleneck). Who runs a submitted call:
//  1. an idle thread, if any: the submitter takes it off `idle_` and counts a notification
//     (`notified_`), so one wake-up goes to one thread however the condvar wakes;
//  2. else a new thread, while fewer than max_threads exist;
//  3. else it stays queued until a busy thread returns and pops it.
// An idle thread waits at most keep_alive; with no notification by then it retires. The
// threads hold the shared state, so a thread detached at shutdown (its call would not end)
// can still finish and leave cleanly after the pool object is gone.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace weft::detail {

class BridgeCall;

class BlockingPool {
public:
    // `cpus`: where its threads may run (empty: wherever their starter may). A pinned worker
    // starts them, and they would otherwise inherit its one CPU.
    BlockingPool(std::string name, unsigned max_threads, std::chrono::milliseconds keep_alive,
                 std::vector<int> cpus = {});
    ~BlockingPool();
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;

    void submit(BridgeCall* call);  // throws RuntimeShutDown once closed
    // Refuses further calls; returns the queued ones (a list through queue_next), never run.
    BridgeCall* close() noexcept;
    // After close(): waits for every thread not inside a call to leave, joins them, and
    // detaches the ones still inside a call.
    void release_threads() noexcept;

    struct Stats {
        unsigned threads;  // alive
        unsigned idle;
        unsigned busy;
        unsigned queued = 0;  // calls waiting for a thread
        unsigned max_threads = 0;
        std::uint64_t calls = 0;  // submitted, ever
    };
    Stats stats() const;  // for tests and RuntimeMetrics (takes the lock)

private:
    struct Shared;
    std::shared_ptr<Shared> shared_;
};

}  // namespace weft::detail
