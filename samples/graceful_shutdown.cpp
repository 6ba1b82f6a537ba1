// graceful_shutdown: a service with workers that waits for SIGTERM (or SIGINT), then cancels
// its workers, lets them clean up, and waits for them with a deadline, reporting any that did
// not stop in time. asyncio:
//
//   loop.add_signal_handler(signal.SIGTERM, stop.set)
//   await stop.wait()
//   for t in workers: t.cancel()
//   done, pending = await asyncio.wait(workers, timeout=0.5)
//
// Here the service sends itself the SIGTERM once its jobs are done, so it runs unattended.
// Checks every count exactly: jobs processed, workers cancelled and cleaned up, the one
// straggler (a flush that finishes before it stops) reported, then let finish.
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <exception>
#include <iostream>
#include <string>

using namespace std::chrono_literals;

std::atomic<int> jobs_done{0}, workers_cleaned_up{0};

weft::Task<void> worker(weft::Queue<int>& jobs) {
    try {
        for (;;) {
            int job = co_await jobs.get();  // cancelled here at shutdown
            co_await weft::sleep(std::chrono::microseconds(100 * (job % 5)));
            ++jobs_done;
            jobs.task_done();
        }
    } catch (const weft::CancelledError&) {
        ++workers_cleaned_up;  // close connections, flush buffers, ...
        throw;
    }
}

// Flushes a buffer it must not abandon: when cancelled, it finishes the flush first and only
// then stops, so shutdown reports it as a straggler once the grace period has passed.
weft::Task<void> flush(weft::Event& disk_ready, weft::Event& flushed) {
    std::exception_ptr stop;
    try {
        co_await disk_ready.wait();
    } catch (const weft::CancelledError&) {
        stop = std::current_exception();  // (no co_await inside a catch block in C++)
    }
    if (stop) co_await disk_ready.wait();  // the data must reach the disk: finish, then stop
    flushed.set();
    if (stop) std::rethrow_exception(stop);
}

std::atomic<int> warmups_done{0};
weft::Task<void> warm_cache(weft::Latch& warmed) {  // a short task that ends on its own
    co_await weft::sleep(1ms);
    ++warmups_done;
    warmed.count_down();
}

weft::Task<int> service(int job_count) {
    int wrong = 0;
    // readme: begin setup
    weft::SignalListener signals({SIGINT, SIGTERM});  // catching starts here: none is missed

    weft::Shutdown shutdown;  // tracks the tasks to stop
    weft::Queue<int> jobs;
    weft::Event disk_ready, flushed;
    weft::Latch warmed(2);
    for (int w = 0; w < 4; ++w) shutdown.spawn(worker(jobs), "worker");
    // readme: end setup
    shutdown.spawn(flush(disk_ready, flushed), "flush");
    shutdown.spawn(warm_cache(warmed), "warm-cache");
    shutdown.spawn(warm_cache(warmed), "warm-cache");

    for (int j = 0; j < job_count; ++j) co_await jobs.put(j);
    co_await jobs.join();  // every job processed
    co_await warmed.wait();  // and both warm-ups ended on their own

    // readme: begin signal
    std::raise(SIGTERM);  // what `kill <pid>` or systemd would send
    int sig = co_await signals.recv();
    // readme: end signal
    std::cout << "got " << (sig == SIGTERM ? "SIGTERM" : "another signal") << " after " << jobs_done
              << " jobs; shutting down\n";
    wrong += (sig != SIGTERM);

    // readme: begin stop
    // Cancel every tracked task and wait for them, at most 500 ms.
    auto start = weft::now();
    weft::ShutdownReport report = co_await shutdown.run(500ms);
    // readme: end stop
    std::cout << "shutdown: " << report.cancelled << " tasks were running and cancelled, " << report.finished
              << " stopped within the grace period, " << report.stragglers.size() << " did not ("
              << (report.stragglers.empty() ? "" : report.stragglers[0].name) << ") after "
              << std::chrono::duration<double, std::milli>(weft::now() - start).count() << " ms\n";
    wrong += (report.cancelled != 5) + (report.finished != 4) + (report.stragglers.size() != 1);
    wrong += (workers_cleaned_up != 4) + (jobs_done != job_count) + (warmups_done != 2);

    // The straggler was only reported, not killed: let it finish before the process exits.
    disk_ready.set();
    co_await weft::wait_for(flushed.wait(), 5s);
    co_return wrong;
}

int main() {
    int wrong = weft::run(service(200), weft::RuntimeOptions{.workers = 2});
    if (wrong != 0) return 1;
    std::cout << "graceful_shutdown: SIGTERM after 200 jobs; 4 workers cancelled and cleaned up, 2 tasks had "
                 "finished, 1 straggler reported\n";
}
