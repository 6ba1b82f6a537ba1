// weft_stress (tools/stress): the backpressure stress test. P producers outrun C consumers by
// --factor through one bounded queue (weft::Queue with a maxsize, or weft::BackpressureQueue
// with high/low watermarks) for --duration seconds, with optional chaos, then checks that every
// item was consumed exactly once and that RSS stayed bounded. Exit status: 0 pass, 1 fail
// (an item lost or duplicated, RSS over --max-rss-mb, the drain timed out), 2 bad usage.
//
// Items are 64-bit ids: producer << 40 | sequence. Producers spin `--work-us` of CPU per item;
// consumers spin factor times as long (calibrated on the thread CPU clock, so a loaded machine
// slows the run down but does not change the ratio), and yield every 16 items.
//
// Chaos (all with --chaos, each on its own with a rate):
//  - cancels: a monkey task cancels random consumers through their JoinHandle, preferring one
//    suspended in get(); the cancellation lands in get() (the queue must keep the item) or at
//    the consumer's next cancellation point (its yield, or a stall while it holds an item).
//  - timeouts: a fraction of gets run under wait_for with a deadline of 0-200 us.
//  - throws: a consumer throws while it holds an item, after its work and before recording it.
//  - stalls: a consumer holding an item sleeps --stall-ms.
// The supervisor of each consumer slot restarts a consumer that threw or was cancelled (so
// there are always C) and re-enqueues the item it held (put at the back, then task_done for
// the failed attempt, in that order so that join() cannot see zero in between): the item is
// consumed later by someone else, exactly once. Cancelled gets hold nothing: the queue keeps
// (or passes on) an item handed to a getter that was cancelled before it ran.
//
// End: producers stop, chaos stops, queue.join() (with --drain-timeout) waits until every put
// was matched by task_done(), then shutdown() lets the consumers leave. The checker keeps one
// bit per item id, in a window per producer that slides past fully consumed words (memory
// follows the spread of ids in flight, not the run's length), plus a checksum of ids in and
// out; a second consumption of an id is a duplicate, an id never consumed is lost.
#include <weft/weft.hpp>

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#ifndef WEFT_STRESS_PLOTTER
#define WEFT_STRESS_PLOTTER "tools/src/plot_stress.py"
#endif

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr unsigned kSeqBits = 40;
constexpr std::uint64_t kSeqMask = (std::uint64_t{1} << kSeqBits) - 1;

std::string item_name(std::uint64_t id) {
    std::string name = "p";  // (appended, not `"p" + ...`: g++ 12's -Wrestrict false positive)
    name.append(std::to_string(id >> kSeqBits)).append("#").append(std::to_string(id & kSeqMask));
    return name;
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser: the checksum's per-item term
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

struct Rng {  // xorshift64*: per task, no sharing
    std::uint64_t state;
    explicit Rng(std::uint64_t seed) : state(mix(seed) | 1) {}
    std::uint64_t next() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        return state * 0x2545f4914f6cdd1dULL;
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    bool chance(double p) { return p > 0 && uniform() < p; }
};

// ---- options ------------------------------------------------------------------------------
struct Options {
    std::string queue = "backpressure";
    unsigned producers = 4;
    unsigned consumers = 4;
    unsigned workers = 0;
    double factor = 4.0;
    double duration = 10.0;
    double work_us = 1.0;
    std::size_t maxsize = 1024;
    std::size_t high = 1024;
    std::size_t low = 256;
    double cancel_rate = 0;   // cancels per second
    double timeout_rate = 0;  // fraction of gets under a short wait_for
    double throw_rate = 0;    // fraction of items whose consumer throws
    double stall_rate = 0;    // stalls per second
    double stall_ms = 100;
    double max_rss_mb = 256;
    double drain_timeout = 60;
    std::uint64_t seed = 1;
    std::string json, csv, plot;
    bool inject_loss = false;
    bool inject_duplicate = false;
    bool inline_join = false;
};

constexpr const char* kUsage = R"(usage: stress [options]
Producers outrun consumers through a bounded weft queue; checks every item is consumed exactly once.
  --queue queue|backpressure   weft::Queue(maxsize) or weft::BackpressureQueue(high, low) [backpressure]
  --producers N, --consumers N [4, 4]     --workers N   runtime workers [0: one per CPU]
  --factor F      consumers' work per item over producers' [4]
  --work-us F     producers' CPU work per item, microseconds [1]
  --duration S    seconds of load before the drain [10]
  --maxsize N     Queue's bound [1024]      --high N, --low N   watermarks [1024, 256]
  --chaos         all of the chaos below at its default rate
  --cancel-rate R   consumers cancelled per second (through JoinHandle::cancel) [chaos: 20]
  --timeout-rate F  fraction of gets under wait_for(get, 0-200us) [chaos: 0.001]
  --throw-rate F    fraction of items whose consumer throws while holding it [chaos: 0.0001]
  --stall-rate R    consumer stalls per second [chaos: 2]    --stall-ms MS  stall length [100]
  --max-rss-mb MB   fail if peak RSS exceeds it [256]
  --drain-timeout S fail if the queue has not drained this long after the producers stop [60]
  --seed N          chaos random seed [1]
  --csv FILE        per-second time series    --plot FILE.png  draws it (python3 + matplotlib)
  --json FILE       summary
)";

[[noreturn]] void usage_error(const std::string& message) {
    std::cerr << "stress: " << message << "\n" << kUsage;
    std::exit(2);
}

template <class T>
T parse_number(std::string_view flag, std::string_view text) {
    T value{};
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size())
        usage_error(std::string(flag) + ": not a number: '" + std::string(text) + "'");
    return value;
}

Options parse(int argc, char** argv) {
    Options opt;
    bool chaos = false;
    std::optional<double> cancel_rate, timeout_rate, throw_rate, stall_rate;
    for (int i = 1; i < argc; ++i) {
        std::string_view flag = argv[i];
        if (flag == "-h" || flag == "--help") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (flag == "--chaos") {
            chaos = true;
            continue;
        }
        if (flag == "--inject-loss") {  // hidden: proves the checker catches a lost item
            opt.inject_loss = true;
            continue;
        }
        if (flag == "--inject-duplicate") {  // hidden: ... and a duplicated one
            opt.inject_duplicate = true;
            continue;
        }
        if (flag == "--inline-join") {  // hidden: supervisors co_await the consumer's handle
            opt.inline_join = true;
            continue;
        }
        if (i + 1 >= argc) usage_error(std::string(flag) + " needs a value");
        std::string_view value = argv[++i];
        auto number = [&]<class T>(T& out) { out = parse_number<T>(flag, value); };
        double rate = 0;
        if (flag == "--queue") opt.queue = value;
        else if (flag == "--producers") number(opt.producers);
        else if (flag == "--consumers") number(opt.consumers);
        else if (flag == "--workers") number(opt.workers);
        else if (flag == "--factor") number(opt.factor);
        else if (flag == "--work-us") number(opt.work_us);
        else if (flag == "--duration") number(opt.duration);
        else if (flag == "--maxsize") number(opt.maxsize);
        else if (flag == "--high") number(opt.high);
        else if (flag == "--low") number(opt.low);
        else if (flag == "--cancel-rate") number(rate), cancel_rate = rate;
        else if (flag == "--timeout-rate") number(rate), timeout_rate = rate;
        else if (flag == "--throw-rate") number(rate), throw_rate = rate;
        else if (flag == "--stall-rate") number(rate), stall_rate = rate;
        else if (flag == "--stall-ms") number(opt.stall_ms);
        else if (flag == "--max-rss-mb") number(opt.max_rss_mb);
        else if (flag == "--drain-timeout") number(opt.drain_timeout);
        else if (flag == "--seed") number(opt.seed);
        else if (flag == "--json") opt.json = value;
        else if (flag == "--csv") opt.csv = value;
        else if (flag == "--plot") opt.plot = value;
        else usage_error("unknown option " + std::string(flag));
    }
    opt.cancel_rate = cancel_rate.value_or(chaos ? 20 : 0);
    opt.timeout_rate = timeout_rate.value_or(chaos ? 0.001 : 0);
    opt.throw_rate = throw_rate.value_or(chaos ? 0.0001 : 0);
    opt.stall_rate = stall_rate.value_or(chaos ? 2 : 0);
    if (opt.queue != "queue" && opt.queue != "backpressure") usage_error("--queue: queue or backpressure");
    if (opt.producers == 0 || opt.consumers == 0) usage_error("--producers and --consumers must be at least 1");
    if (opt.producers > 4096) usage_error("--producers: at most 4096");
    if (!(opt.factor > 0) || !(opt.work_us >= 0) || !(opt.duration > 0) || !(opt.stall_ms >= 0) ||
        !(opt.drain_timeout > 0) || !(opt.max_rss_mb > 0))
        usage_error("--factor, --duration, --drain-timeout, --max-rss-mb must be > 0; --work-us, --stall-ms >= 0");
    if (opt.cancel_rate < 0 || opt.stall_rate < 0 || opt.timeout_rate < 0 || opt.timeout_rate > 1 ||
        opt.throw_rate < 0 || opt.throw_rate > 1)
        usage_error("rates: >= 0, and the fractions (--timeout-rate, --throw-rate) <= 1");
    if (opt.queue == "queue" && opt.maxsize == 0) usage_error("--maxsize: the stress needs a bounded queue (>= 1)");
    if (opt.queue == "backpressure" && (opt.high == 0 || opt.low >= opt.high))
        usage_error("--high/--low: need 0 <= low < high");
    if (!opt.plot.empty() && opt.csv.empty()) opt.csv = opt.plot + ".csv";
    return opt;
}

// ---- CPU work, calibrated ----------------------------------------------------------------
[[gnu::noinline]] std::uint64_t spin(std::uint64_t iterations) {
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (std::uint64_t i = 0; i < iterations; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        asm volatile("" : "+r"(x));
    }
    return x;
}

double thread_cpu_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// Iterations of spin() per nanosecond of this thread's CPU time (best of five).
double calibrate() {
    constexpr std::uint64_t kIterations = std::uint64_t{1} << 21;
    double best = 0;
    for (int round = 0; round < 5; ++round) {
        double start = thread_cpu_ns();
        spin(kIterations);
        double elapsed = thread_cpu_ns() - start;
        if (elapsed > 0) best = std::max(best, static_cast<double>(kIterations) / elapsed);
    }
    return best > 0 ? best : 1.0;
}

// ---- put-wait histogram: log2 buckets split in four; bucket 0 = completed at once ---------
constexpr int kBuckets = 1 + 64 * 4;

int bucket_of(std::uint64_t ns) {
    if (ns == 0) return 0;
    int lg = 63 - __builtin_clzll(ns);
    int sub = lg >= 2 ? static_cast<int>((ns >> (lg - 2)) & 3) : 0;
    return 1 + lg * 4 + sub;
}

double bucket_us(int bucket) {  // the middle of the bucket, in microseconds
    if (bucket == 0) return 0;
    int lg = (bucket - 1) / 4, sub = (bucket - 1) % 4;
    double low = std::ldexp(1.0, lg) * (1.0 + sub / 4.0);
    double width = lg >= 2 ? std::ldexp(1.0, lg) / 4.0 : 1.0;
    return (low + width / 2) / 1000.0;
}

using Histogram = std::array<std::uint64_t, kBuckets>;

double percentile(const Histogram& histogram, double fraction) {
    std::uint64_t total = 0;
    for (std::uint64_t count : histogram) total += count;
    if (total == 0) return 0;
    auto rank = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(total)));
    std::uint64_t seen = 0;
    for (int bucket = 0; bucket < kBuckets; ++bucket) {
        seen += histogram[static_cast<std::size_t>(bucket)];
        if (seen >= std::max<std::uint64_t>(rank, 1)) return bucket_us(bucket);
    }
    return bucket_us(kBuckets - 1);
}

// One producer's counters: written by that producer only (load + store, no RMW), read by the
// reporter thread.
struct alignas(64) ProducerStats {
    std::atomic<std::uint64_t> produced{0};
    std::atomic<std::uint64_t> slow_puts{0};  // puts that did not complete at once
    std::array<std::atomic<std::uint64_t>, kBuckets> put_wait{};
    std::uint64_t checksum = 0;  // read after the producer finished

    static void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
        counter.store(counter.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }
    void record(std::uint64_t ns) { bump(put_wait[static_cast<std::size_t>(bucket_of(ns))]); }
};

// co_await TimedPut(queue, item, stats): the queue's put, timed. The fast path (the put done in
// await_ready) records 0 without reading the clock.
template <class Q>
class TimedPut {
public:
    TimedPut(Q& queue, std::uint64_t item, ProducerStats& stats) : inner_(queue.put(std::move(item))), stats_(stats) {}
    bool await_ready() {
        if (inner_.await_ready()) {
            stats_.record(0);
            return true;
        }
        start_ = SteadyClock::now();
        slow_ = true;
        return false;
    }
    bool await_suspend(std::coroutine_handle<> awaiting) { return inner_.await_suspend(awaiting); }
    void await_resume() {
        inner_.await_resume();
        if (!slow_) return;
        auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - start_).count();
        stats_.record(static_cast<std::uint64_t>(std::max<std::int64_t>(waited, 1)));
        ProducerStats::bump(stats_.slow_puts);
    }

private:
    typename Q::PutAwaiter inner_;
    ProducerStats& stats_;
    SteadyClock::time_point start_{};
    bool slow_ = false;
};

// ---- the exactly-once checker --------------------------------------------------------------
class Checker {
public:
    explicit Checker(unsigned producers) : lanes_(producers) {}

    // Records one consumption of `id`; false if it is a duplicate (or was never produced).
    bool mark(std::uint64_t id) {
        std::uint64_t producer = id >> kSeqBits, seq = id & kSeqMask;
        if (producer >= lanes_.size()) {
            note_duplicate(id);
            return false;
        }
        Lane& lane = lanes_[producer];
        std::lock_guard lock(lane.mutex);
        std::uint64_t word = seq / 64, bit = std::uint64_t{1} << (seq % 64);
        if (word < lane.base) {
            note_duplicate(id);
            return false;
        }
        std::size_t index = static_cast<std::size_t>(word - lane.base);
        if (index >= lane.words.size()) lane.words.resize(index + 1, 0);
        if (lane.words[index] & bit) {
            note_duplicate(id);
            return false;
        }
        lane.words[index] |= bit;
        while (!lane.words.empty() && lane.words.front() == ~std::uint64_t{0}) {
            lane.words.pop_front();
            ++lane.base;
        }
        return true;
    }

    struct Verdict {
        std::uint64_t lost = 0, duplicated = 0;
        std::vector<std::uint64_t> lost_ids, duplicated_ids;  // the first few
    };

    // After everything stopped: `produced[p]` items were put by producer p.
    Verdict finish(const std::vector<std::uint64_t>& produced) {
        Verdict verdict;
        {
            std::lock_guard lock(duplicates_mutex_);
            verdict.duplicated = duplicates_;
            verdict.duplicated_ids = duplicate_ids_;
        }
        for (std::size_t p = 0; p < lanes_.size(); ++p) {
            Lane& lane = lanes_[p];
            std::lock_guard lock(lane.mutex);
            std::uint64_t n = produced[p];
            std::uint64_t first = lane.base * 64;  // everything below was consumed
            for (std::uint64_t seq = first; seq < n; ++seq) {
                std::size_t index = static_cast<std::size_t>(seq / 64 - lane.base);
                bool seen = index < lane.words.size() && (lane.words[index] >> (seq % 64)) & 1;
                if (!seen) note(verdict.lost, verdict.lost_ids, (std::uint64_t{p} << kSeqBits) | seq);
            }
            // Ids consumed but never produced count as duplicates (a corrupted item).
            for (std::size_t index = 0; index < lane.words.size(); ++index)
                for (unsigned b = 0; b < 64; ++b) {
                    std::uint64_t seq = (lane.base + index) * 64 + b;
                    if (seq >= n && ((lane.words[index] >> b) & 1))
                        note(verdict.duplicated, verdict.duplicated_ids, (std::uint64_t{p} << kSeqBits) | seq);
                }
            if (first > n + 64) verdict.duplicated += first - n;  // whole words past the end (corrupt)
        }
        return verdict;
    }

    // Most words any lane's window held (memory the checker needed).
    std::size_t window_words() {
        std::size_t most = 0;
        for (Lane& lane : lanes_) {
            std::lock_guard lock(lane.mutex);
            most = std::max(most, lane.words.size());
        }
        return most;
    }

private:
    struct Lane {
        std::mutex mutex;
        std::uint64_t base = 0;            // words below are all ones (consumed)
        std::deque<std::uint64_t> words;   // one bit per id from base * 64 on
    };

    static void note(std::uint64_t& count, std::vector<std::uint64_t>& ids, std::uint64_t id) {
        ++count;
        if (ids.size() < 10) ids.push_back(id);
    }
    void note_duplicate(std::uint64_t id) {
        std::lock_guard lock(duplicates_mutex_);
        note(duplicates_, duplicate_ids_, id);
    }

    std::deque<Lane> lanes_;
    std::mutex duplicates_mutex_;
    std::uint64_t duplicates_ = 0;
    std::vector<std::uint64_t> duplicate_ids_;
};

// ---- consumers and their supervisors ---------------------------------------------------------
struct ChaosError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// One consumer slot: its current consumer task and the counters that outlive restarts.
struct alignas(64) Slot {
    std::mutex mutex;  // guards `handle`: the supervisor replaces it, the monkey cancels through it
    weft::JoinHandle<void> handle;
    // The item the consumer holds while it works: the supervisor's once the consumer has died
    // (read after joining it).
    std::optional<std::uint64_t> held;
    std::atomic<bool> in_get{false};
    std::atomic<bool> stall_request{false};
    // Written by the slot's consumer (one at a time), read by the reporter.
    std::atomic<std::uint64_t> consumed{0}, checksum{0};
    std::atomic<std::uint64_t> cancels_in_get{0}, timeouts{0}, throws{0}, stalls{0};
    // Written by the supervisor.
    std::atomic<std::uint64_t> cancelled{0}, restarts{0}, requeued{0};
    Rng rng{0};
};

void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) { ProducerStats::bump(counter, by); }

template <class Q>
struct Stress {
    const Options& opt;
    Q& queue;
    Checker checker;
    std::vector<std::unique_ptr<ProducerStats>> producers;
    std::vector<std::unique_ptr<Slot>> slots;
    std::uint64_t producer_iterations = 0, consumer_iterations = 0;
    std::atomic<bool> stopping{false};
    std::atomic<bool> chaos{true};
    std::atomic<std::uint64_t> cancel_requests{0};
    std::atomic<bool> inject_loss_armed{false}, inject_duplicate_armed{false};
    std::mutex injected_mutex;
    std::vector<std::uint64_t> injected_loss, injected_duplicate;

    Stress(const Options& options, Q& q) : opt(options), queue(q), checker(options.producers) {
        for (unsigned p = 0; p < opt.producers; ++p) producers.push_back(std::make_unique<ProducerStats>());
        for (unsigned c = 0; c < opt.consumers; ++c) {
            slots.push_back(std::make_unique<Slot>());
            slots.back()->rng = Rng(opt.seed * 1000003 + c);
        }
        inject_loss_armed = opt.inject_loss;
        inject_duplicate_armed = opt.inject_duplicate;
    }
};

template <class Q>
weft::Task<void> produce(Stress<Q>& run, unsigned index) {
    ProducerStats& stats = *run.producers[index];
    std::uint64_t seq = 0, checksum = 0;
    while (!run.stopping.load(std::memory_order_relaxed)) {
        spin(run.producer_iterations);
        std::uint64_t id = (std::uint64_t{index} << kSeqBits) | seq;
        TimedPut<Q> put(run.queue, id, stats);
        co_await put;
        checksum += mix(id);
        stats.produced.store(++seq, std::memory_order_relaxed);
    }
    stats.checksum = checksum;
}

// One consumer: get, (maybe stall), work, (maybe throw), record, task_done. Leaves normally
// when the queue is shut down and empty; by CancelledError or ChaosError otherwise, the item it
// held (if any) in slot.held.
template <class Q>
weft::Task<void> consume(Stress<Q>& run, Slot& slot) {
    const Options& opt = run.opt;
    for (std::uint64_t n = 1;; ++n) {
        bool chaos = run.chaos.load(std::memory_order_relaxed);
        std::uint64_t id = 0;
        slot.in_get.store(true, std::memory_order_relaxed);
        try {
            if (chaos && slot.rng.chance(opt.timeout_rate)) {
                auto deadline = std::chrono::microseconds(slot.rng.next() % 200);
                try {
                    id = co_await weft::wait_for(run.queue.get(), deadline);
                } catch (const weft::TimeoutError&) {
                    slot.in_get.store(false, std::memory_order_relaxed);
                    bump(slot.timeouts);
                    continue;
                }
            } else {
                id = co_await run.queue.get();
            }
        } catch (const weft::QueueShutDown&) {
            slot.in_get.store(false, std::memory_order_relaxed);
            co_return;
        } catch (const weft::CancelledError&) {
            slot.in_get.store(false, std::memory_order_relaxed);
            bump(slot.cancels_in_get);
            throw;
        }
        slot.in_get.store(false, std::memory_order_relaxed);
        slot.held = id;
        if (slot.stall_request.exchange(false, std::memory_order_relaxed) &&
            run.chaos.load(std::memory_order_relaxed)) {
            bump(slot.stalls);
            co_await weft::sleep(std::chrono::microseconds(static_cast<std::int64_t>(opt.stall_ms * 1000)));
        }
        spin(run.consumer_iterations);
        if (chaos && slot.rng.chance(opt.throw_rate)) {
            bump(slot.throws);
            throw ChaosError("chaos: consumer threw holding " + item_name(id));
        }
        if (opt.inject_loss && n >= 100 && run.inject_loss_armed.exchange(false)) {
            // --inject-loss: the item is dropped (done, never recorded)
            std::lock_guard lock(run.injected_mutex);
            run.injected_loss.push_back(id);
        } else {
            run.checker.mark(id);
            bump(slot.consumed);
            slot.checksum.store(slot.checksum.load(std::memory_order_relaxed) + mix(id), std::memory_order_relaxed);
            if (opt.inject_duplicate && n >= 100 && run.inject_duplicate_armed.exchange(false)) {
                {  // --inject-duplicate: the item is put again (consumed twice)
                    std::lock_guard lock(run.injected_mutex);
                    run.injected_duplicate.push_back(id);
                }
                co_await run.queue.put(id);
            }
        }
        slot.held.reset();
        run.queue.task_done();
        if (n % 16 == 0) co_await weft::yield_now();  // fairness, and a cancellation point
    }
}

// Keeps one consumer running in `slot`: restarts it when it threw or was cancelled and
// re-enqueues the item it held. Returns when its consumer left normally (queue shut down).
template <class Q>
weft::Task<void> supervise(Stress<Q>& run, Slot& slot) {
    std::optional<std::uint64_t> requeue;
    for (;;) {
        {
            std::lock_guard lock(slot.mutex);
            slot.handle = weft::spawn(consume(run, slot));
        }
        if (requeue) {
            // After the restart, so a full queue always has a consumer to make room. Put first,
            // then task_done for the failed attempt: join() never sees zero in between.
            std::uint64_t id = *requeue;
            requeue.reset();
            co_await run.queue.put(id);
            run.queue.task_done();
            bump(slot.requeued);
        }
        bool died = false;
        try {
            if (run.opt.inline_join) {
                co_await slot.handle;
            } else {
                // Not `co_await slot.handle`: joined while still unstarted, the consumer would
                // run inline inside this task, and then a cancel() of it sometimes ends this
                // supervisor cancelled too (--inline-join shows it; see the report).
                weft::Event finished;
                slot.handle.add_done_callback([&finished] { finished.set(); });
                co_await finished.wait();
                if (slot.handle.cancelled()) throw weft::CancelledError();
                if (std::exception_ptr failure = slot.handle.exception()) std::rethrow_exception(failure);
            }
        } catch (const ChaosError&) {
            died = true;
        } catch (const weft::CancelledError&) {
            bump(slot.cancelled);
            died = true;
        }
        if (!died) co_return;
        bump(slot.restarts);
        requeue = slot.held;
        slot.held.reset();
    }
}

// Cancels and stalls random consumers at the chosen rates until the run stops.
template <class Q>
weft::Task<void> monkey(Stress<Q>& run) {
    Rng rng(run.opt.seed * 7919 + 17);
    double cancel_credit = 0, stall_credit = 0;
    auto last = SteadyClock::now();
    std::size_t count = run.slots.size();
    while (!run.stopping.load(std::memory_order_relaxed)) {
        co_await weft::sleep(5ms);
        auto now = SteadyClock::now();
        double elapsed = std::chrono::duration<double>(now - last).count();
        last = now;
        cancel_credit += run.opt.cancel_rate * elapsed;
        stall_credit += run.opt.stall_rate * elapsed;
        for (; cancel_credit >= 1; cancel_credit -= 1) {
            // Prefer a consumer suspended in get(): that is where the queue's hand-off races are.
            std::size_t start = static_cast<std::size_t>(rng.next() % count), pick = start;
            for (std::size_t i = 0; i < count; ++i) {
                std::size_t candidate = (start + i) % count;
                if (run.slots[candidate]->in_get.load(std::memory_order_relaxed)) {
                    pick = candidate;
                    break;
                }
            }
            Slot& slot = *run.slots[pick];
            std::lock_guard lock(slot.mutex);
            if (slot.handle.valid() && slot.handle.cancel("chaos")) bump(run.cancel_requests);
        }
        for (; stall_credit >= 1; stall_credit -= 1)
            run.slots[static_cast<std::size_t>(rng.next() % count)]->stall_request.store(true,
                                                                                         std::memory_order_relaxed);
    }
}

// ---- sampling and reporting ----------------------------------------------------------------
double rss_mb() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0, resident = 0;
    statm >> size >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double peak_rss_mb() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return std::max(static_cast<double>(usage.ru_maxrss) / 1024.0, rss_mb());
}

struct Totals {
    std::uint64_t in = 0, out = 0, slow_puts = 0, pauses = 0, resumes = 0, cancels = 0, cancels_in_get = 0, throws = 0,
                  stalls = 0, timeouts = 0, requeued = 0;
    Histogram put_wait{};
};

template <class Q>
Totals totals(Stress<Q>& run) {
    Totals t;
    for (auto& p : run.producers) {
        t.in += p->produced.load(std::memory_order_relaxed);
        t.slow_puts += p->slow_puts.load(std::memory_order_relaxed);
        for (int b = 0; b < kBuckets; ++b)
            t.put_wait[static_cast<std::size_t>(b)] +=
                p->put_wait[static_cast<std::size_t>(b)].load(std::memory_order_relaxed);
    }
    for (auto& s : run.slots) {
        t.out += s->consumed.load(std::memory_order_relaxed);
        t.cancels += s->cancelled.load(std::memory_order_relaxed);
        t.cancels_in_get += s->cancels_in_get.load(std::memory_order_relaxed);
        t.throws += s->throws.load(std::memory_order_relaxed);
        t.stalls += s->stalls.load(std::memory_order_relaxed);
        t.timeouts += s->timeouts.load(std::memory_order_relaxed);
        t.requeued += s->requeued.load(std::memory_order_relaxed);
    }
    if constexpr (requires { run.queue.stats(); }) {
        weft::BackpressureStats stats = run.queue.stats();
        t.pauses = stats.pauses;
        t.resumes = stats.resumes;
    } else {
        t.pauses = t.slow_puts;  // Queue: a producer paused = a put that had to wait
    }
    return t;
}

struct Sample {
    double t = 0, in_per_s = 0, out_per_s = 0;
    std::size_t depth = 0, depth_min = 0, depth_max = 0;
    std::uint64_t pauses = 0, slow_puts = 0;
    double p50_us = 0, p99_us = 0, rss_mb = 0;
    std::uint64_t cancels = 0, throws = 0, stalls = 0, timeouts = 0;
};

std::string si(double value) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(1);
    if (value >= 1e6) out << value / 1e6 << "M";
    else if (value >= 1e3) out << value / 1e3 << "k";
    else out << std::setprecision(0) << value;
    return out.str();
}

struct DepthPoint {
    double t;
    std::size_t depth;
};
// Half a second of depth traced at 1 ms, once the run has settled (--csv's FILE-depth.csv).
constexpr auto kTraceFrom = 1000ms, kTraceTo = 1500ms;

// The reporter thread: samples the depth and prints one line a second.
template <class Q>
void report(Stress<Q>& run, std::atomic<bool>& done, std::vector<Sample>& samples, std::vector<DepthPoint>& trace,
            std::size_t& max_depth) {
    auto start = SteadyClock::now();
    Totals previous{};
    auto previous_time = start;
    std::size_t depth_min = SIZE_MAX, depth_max = 0;
    for (int second = 1; !done.load(std::memory_order_relaxed); ++second) {
        auto next = start + std::chrono::seconds(second);
        while (!done.load(std::memory_order_relaxed) && SteadyClock::now() < next) {
            std::size_t depth = run.queue.qsize();
            depth_min = std::min(depth_min, depth);
            depth_max = std::max(depth_max, depth);
            max_depth = std::max(max_depth, depth);
            // Half a second every millisecond (the watermark sawtooth is faster than the
            // per-second line), else every 10 ms.
            auto since = SteadyClock::now() - start;
            if (since >= kTraceFrom && since < kTraceTo) {
                trace.push_back({std::chrono::duration<double>(since).count(), depth});
                std::this_thread::sleep_for(1ms);
            } else {
                std::this_thread::sleep_for(10ms);
            }
        }
        if (done.load(std::memory_order_relaxed)) break;
        auto now = SteadyClock::now();
        double dt = std::chrono::duration<double>(now - previous_time).count();
        previous_time = now;
        Totals t = totals(run);
        Histogram delta{};
        for (int b = 0; b < kBuckets; ++b)
            delta[static_cast<std::size_t>(b)] =
                t.put_wait[static_cast<std::size_t>(b)] - previous.put_wait[static_cast<std::size_t>(b)];
        Sample s;
        s.t = std::chrono::duration<double>(now - start).count();
        s.in_per_s = static_cast<double>(t.in - previous.in) / dt;
        s.out_per_s = static_cast<double>(t.out - previous.out) / dt;
        s.depth = run.queue.qsize();
        s.depth_min = std::min(depth_min, s.depth);
        s.depth_max = std::max(depth_max, s.depth);
        s.pauses = t.pauses - previous.pauses;
        s.slow_puts = t.slow_puts - previous.slow_puts;
        s.p50_us = percentile(delta, 0.50);
        s.p99_us = percentile(delta, 0.99);
        s.rss_mb = rss_mb();
        s.cancels = t.cancels - previous.cancels;
        s.throws = t.throws - previous.throws;
        s.stalls = t.stalls - previous.stalls;
        s.timeouts = t.timeouts - previous.timeouts;
        previous = t;
        depth_min = SIZE_MAX;
        depth_max = 0;
        samples.push_back(s);
        std::ostringstream line;
        line << std::fixed << std::setprecision(1) << "t=" << std::setw(4) << second << "s  in " << std::setw(7)
             << si(s.in_per_s) << "/s  out " << std::setw(7) << si(s.out_per_s) << "/s  depth " << std::setw(5)
             << s.depth << " [" << s.depth_min << ".." << s.depth_max << "]  pauses " << s.pauses;
        if (run.opt.queue == "backpressure") line << " (waits " << s.slow_puts << ")";
        line << "  put-wait p50 " << std::setprecision(1) << s.p50_us << "us p99 " << s.p99_us << "us  rss " << s.rss_mb
             << "MB";
        if (s.cancels + s.throws + s.stalls + s.timeouts)
            line << "  chaos: " << s.cancels << " cancelled, " << s.throws << " threw, " << s.stalls << " stalled, "
                 << s.timeouts << " timed out";
        std::cout << line.str() << std::endl;
    }
}

void write_csv(const std::string& path, const Options& opt, const std::vector<Sample>& samples) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("cannot write " + path);
    out << "# weft stress: queue=" << opt.queue << " maxsize=" << (opt.queue == "queue" ? opt.maxsize : 0)
        << " high=" << (opt.queue == "backpressure" ? opt.high : 0)
        << " low=" << (opt.queue == "backpressure" ? opt.low : 0) << " producers=" << opt.producers
        << " consumers=" << opt.consumers << " factor=" << opt.factor << "\n";
    out << "t_s,in_per_s,out_per_s,depth,depth_min,depth_max,pauses,put_waits,put_wait_p50_us,put_wait_p99_us,"
           "rss_mb,cancelled,threw,stalled,timed_out\n";
    out << std::fixed << std::setprecision(3);
    for (const Sample& s : samples)
        out << s.t << ',' << s.in_per_s << ',' << s.out_per_s << ',' << s.depth << ',' << s.depth_min << ','
            << s.depth_max << ',' << s.pauses << ',' << s.slow_puts << ',' << s.p50_us << ',' << s.p99_us << ','
            << s.rss_mb << ',' << s.cancels << ',' << s.throws << ',' << s.stalls << ',' << s.timeouts << '\n';
}

// FILE.csv -> FILE-depth.csv: half a second's depth at 1 ms.
std::string depth_csv_path(const std::string& csv) {
    std::string stem = csv.size() > 4 && csv.ends_with(".csv") ? csv.substr(0, csv.size() - 4) : csv;
    return stem + "-depth.csv";
}

std::string ids_text(const std::vector<std::uint64_t>& ids, std::uint64_t count) {
    std::string text;
    for (std::uint64_t id : ids) text += (text.empty() ? "" : ", ") + item_name(id);
    if (count > ids.size()) text += ", ...";
    return text;
}

std::string json_ids(const std::vector<std::uint64_t>& ids) {
    std::string text = "[";
    for (std::uint64_t id : ids) text += (text.size() > 1 ? ", \"" : "\"") + item_name(id) + "\"";
    return text + "]";
}

// "" if the task returned, else what ended it.
weft::Task<std::string> outcome_of(weft::JoinHandle<void>& handle, std::string what) {
    std::string failure;
    try {
        co_await handle;
    } catch (const weft::CancelledError& e) {
        failure = what + " ended cancelled (" + e.what() + ")";
    } catch (const std::exception& e) {
        failure = what + " failed: " + e.what();
    }
    co_return failure;
}

template <class Q>
weft::Task<void> join_queue(Q& queue) {
    co_await queue.join();
}

template <class Q>
weft::Task<int> stress(const Options& opt, Q& queue) {
    Stress<Q> run(opt, queue);
    double per_ns = calibrate();
    run.producer_iterations = static_cast<std::uint64_t>(opt.work_us * 1000 * per_ns);
    run.consumer_iterations = static_cast<std::uint64_t>(opt.work_us * opt.factor * 1000 * per_ns);
    run.chaos = opt.cancel_rate + opt.timeout_rate + opt.throw_rate + opt.stall_rate > 0;

    std::cout << "stress: "
              << (opt.queue == "queue" ? "weft::Queue(maxsize " + std::to_string(opt.maxsize) + ")"
                                       : "weft::BackpressureQueue(high " + std::to_string(opt.high) + ", low " +
                                             std::to_string(opt.low) + ")")
              << ", " << opt.producers << " producers, " << opt.consumers << " consumers, factor " << opt.factor
              << ", work " << opt.work_us << "us/" << opt.work_us * opt.factor << "us, " << opt.duration << " s";
    if (run.chaos)
        std::cout << ", chaos: " << opt.cancel_rate << " cancels/s, timeouts " << opt.timeout_rate << ", throws "
                  << opt.throw_rate << ", " << opt.stall_rate << " stalls/s of " << opt.stall_ms << " ms";
    std::cout << std::endl;

    std::vector<Sample> samples;
    std::size_t max_depth = 0;
    std::atomic<bool> reporter_done{false};
    std::vector<DepthPoint> trace;
    std::thread reporter([&] { report(run, reporter_done, samples, trace, max_depth); });
    struct JoinReporter {  // also on the way out by an exception
        std::atomic<bool>& done;
        std::thread& thread;
        ~JoinReporter() {
            done = true;
            if (thread.joinable()) thread.join();
        }
    } join_reporter{reporter_done, reporter};

    auto start = SteadyClock::now();
    std::vector<weft::JoinHandle<void>> supervisors, producers;
    for (auto& slot : run.slots) supervisors.push_back(weft::spawn(supervise(run, *slot)));
    for (unsigned p = 0; p < opt.producers; ++p) producers.push_back(weft::spawn(produce(run, p)));
    weft::JoinHandle<void> chaos_monkey = weft::spawn(monkey(run));

    co_await weft::sleep(std::chrono::microseconds(static_cast<std::int64_t>(opt.duration * 1e6)));
    Totals at_stop = totals(run);
    double elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();

    // Stop: producers finish their put, chaos stops, the queue drains, the consumers leave.
    run.stopping = true;
    run.chaos = false;
    // A task of the stress that fails (a bug: nothing of ours throws but the chaos, which the
    // supervisors absorb) is reported, and the run still winds down: every task must be gone
    // before this frame, which they all use, is.
    std::string failure;
    auto note = [&failure](std::string text) {
        if (!text.empty()) failure += (failure.empty() ? "" : "; ") + text;
    };
    for (auto& producer : producers) {
        std::string outcome = co_await outcome_of(producer, "a producer");
        note(outcome);
    }
    std::string monkey_outcome = co_await outcome_of(chaos_monkey, "the chaos monkey");
    note(monkey_outcome);
    for (auto& supervisor : supervisors)
        if (supervisor.done()) {  // before the shutdown: it failed
            std::string outcome = co_await outcome_of(supervisor, "a consumer supervisor");
            note(outcome.empty() ? "a consumer supervisor ended early" : outcome);
        }
    auto drain_start = SteadyClock::now();
    bool drained = failure.empty();
    if (drained) {
        try {
            auto deadline = std::chrono::microseconds(static_cast<std::int64_t>(opt.drain_timeout * 1e6));
            co_await weft::wait_for(join_queue(queue), deadline);
        } catch (const weft::TimeoutError&) {
            drained = false;
        }
    }
    double drain_s = std::chrono::duration<double>(SteadyClock::now() - drain_start).count();
    std::size_t left = queue.qsize();
    queue.shutdown(!drained);  // drained: nothing left, the consumers' get() throws QueueShutDown
    for (auto& supervisor : supervisors)
        if (supervisor.valid() && !supervisor.done()) {
            std::string outcome = co_await outcome_of(supervisor, "a consumer supervisor");
            note(outcome);
        }
    for (auto& slot : run.slots) {  // consumers left behind by a failed supervisor
        bool running = false;
        {
            std::lock_guard lock(slot->mutex);
            running = slot->handle.valid() && !slot->handle.done();
            if (running) slot->handle.cancel("stress: winding down");
        }
        if (running) {
            std::string ignored = co_await outcome_of(slot->handle, "a consumer");
            (void)ignored;
        }
    }
    reporter_done = true;
    reporter.join();

    // The verdict.
    Totals end = totals(run);
    std::vector<std::uint64_t> produced;
    std::uint64_t checksum_in = 0, checksum_out = 0;
    for (auto& p : run.producers) {
        produced.push_back(p->produced.load());
        checksum_in += p->checksum;
    }
    for (auto& s : run.slots) checksum_out += s->checksum.load();
    Checker::Verdict verdict = run.checker.finish(produced);
    double peak = peak_rss_mb();
    bool rss_ok = peak <= opt.max_rss_mb;
    bool checksum_ok = checksum_in == checksum_out && end.in == end.out;
    bool pass = verdict.lost == 0 && verdict.duplicated == 0 && checksum_ok && rss_ok && drained && failure.empty();
    double items_per_s = static_cast<double>(at_stop.out) / elapsed;
    double p50 = percentile(end.put_wait, 0.50), p99 = percentile(end.put_wait, 0.99);
    if (opt.queue == "backpressure")
        max_depth = std::max<std::size_t>(max_depth, [&] {
            if constexpr (requires { queue.stats(); }) return queue.stats().max_depth;
            else return std::size_t{0};
        }());

    std::cout << std::fixed << std::setprecision(1);
    std::cout << "stress: totals: " << end.in << " items in, " << end.out << " out, " << si(items_per_s)
              << " items/s over " << elapsed << " s; pauses " << end.pauses;
    if (opt.queue == "backpressure") std::cout << " (resumes " << end.resumes << ", waits " << end.slow_puts << ")";
    std::cout << "; put-wait p50 " << p50 << "us p99 " << p99 << "us; max depth " << max_depth << "; drained in "
              << std::setprecision(3) << drain_s << " s" << std::setprecision(1) << "; chaos: " << end.cancels
              << " consumers cancelled (" << end.cancels_in_get << " in get, " << run.cancel_requests.load()
              << " cancel() calls), " << end.throws << " threw, " << end.requeued << " items re-enqueued, "
              << end.stalls << " stalled, " << end.timeouts << " get timeouts; checker window "
              << run.checker.window_words() * 64 << " ids\n";
    if (!run.injected_loss.empty())
        std::cout << "stress: injected: dropped " << item_name(run.injected_loss[0]) << "\n";
    if (!run.injected_duplicate.empty())
        std::cout << "stress: injected: put " << item_name(run.injected_duplicate[0]) << " twice\n";
    std::string mode = opt.queue + ", " + std::to_string(opt.producers) + "P/" + std::to_string(opt.consumers) + "C";
    if (pass) {
        std::cout << "stress: PASS (" << mode << "): " << end.in << " items in, " << end.out
                  << " out, each exactly once; lost 0, duplicated 0; peak RSS " << peak << " MB (limit "
                  << opt.max_rss_mb << ")" << std::endl;
    } else {
        std::cout << "stress: FAIL (" << mode << "):";
        if (verdict.lost)
            std::cout << " lost " << verdict.lost << " item(s): " << ids_text(verdict.lost_ids, verdict.lost) << ";";
        if (verdict.duplicated)
            std::cout << " duplicated " << verdict.duplicated
                      << " item(s): " << ids_text(verdict.duplicated_ids, verdict.duplicated) << ";";
        if (!checksum_ok) std::cout << " checksum mismatch (in " << end.in << " items, out " << end.out << ");";
        if (!failure.empty()) std::cout << " " << failure << ";";
        if (!drained && failure.empty())
            std::cout << " the queue did not drain within " << opt.drain_timeout << " s (" << left << " left);";
        if (!rss_ok) std::cout << " peak RSS " << peak << " MB over the limit " << opt.max_rss_mb << " MB;";
        std::cout << std::endl;
    }

    if (!opt.json.empty()) {
        std::ofstream out(opt.json);
        out << std::fixed << std::setprecision(3);
        std::string error;  // (no quotes or backslashes in our messages but the exceptions')
        for (char c : failure) error += (c == '"' || c == '\\') ? '\'' : c;
        out << "{\n  \"verdict\": \"" << (pass ? "pass" : "fail") << "\",\n  \"error\": \"" << error
            << "\",\n  \"queue\": \"" << opt.queue << "\",\n  \"producers\": " << opt.producers
            << ",\n  \"consumers\": " << opt.consumers << ",\n  \"factor\": " << opt.factor
            << ",\n  \"duration_s\": " << elapsed << ",\n  \"items_in\": " << end.in
            << ",\n  \"items_out\": " << end.out << ",\n  \"items_per_s\": " << items_per_s
            << ",\n  \"pauses\": " << end.pauses << ",\n  \"resumes\": " << end.resumes
            << ",\n  \"put_waits\": " << end.slow_puts << ",\n  \"put_wait_p50_us\": " << p50
            << ",\n  \"put_wait_p99_us\": " << p99 << ",\n  \"max_depth\": " << max_depth
            << ",\n  \"peak_rss_mb\": " << peak << ",\n  \"max_rss_mb\": " << opt.max_rss_mb
            << ",\n  \"lost\": " << verdict.lost << ",\n  \"duplicated\": " << verdict.duplicated
            << ",\n  \"lost_items\": " << json_ids(verdict.lost_ids)
            << ",\n  \"duplicated_items\": " << json_ids(verdict.duplicated_ids)
            << ",\n  \"checksum_ok\": " << (checksum_ok ? "true" : "false")
            << ",\n  \"drained\": " << (drained ? "true" : "false") << ",\n  \"chaos\": {\"cancelled\": " << end.cancels
            << ", \"cancelled_in_get\": " << end.cancels_in_get << ", \"threw\": " << end.throws
            << ", \"requeued\": " << end.requeued << ", \"stalled\": " << end.stalls
            << ", \"timed_out\": " << end.timeouts << "}\n}\n";
        if (!out) std::cerr << "stress: cannot write " << opt.json << "\n";
    }
    std::string depth_csv = depth_csv_path(opt.csv);
    if (!opt.csv.empty()) {
        write_csv(opt.csv, opt, samples);
        std::ofstream out(depth_csv);
        out << "t_s,depth\n" << std::fixed << std::setprecision(4);
        for (const DepthPoint& point : trace) out << point.t << ',' << point.depth << '\n';
    }
    if (!opt.plot.empty()) {
        const char* python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
        std::string command =
            std::string(python) + " '" WEFT_STRESS_PLOTTER "' '" + opt.csv + "' '" + opt.plot + "' '" + depth_csv + "'";
        if (std::system(command.c_str()) != 0) std::cerr << "stress: the plotter failed: " << command << "\n";
        else std::cout << "stress: plot written to " << opt.plot << "\n";
    }
    co_return pass ? 0 : 1;
}

template <class Q>
weft::Task<int> stress_with_queue(const Options& opt) {
    std::unique_ptr<Q> queue;
    if constexpr (std::is_same_v<Q, weft::BackpressureQueue<std::uint64_t>>)
        queue = std::make_unique<Q>(opt.high, opt.low);
    else queue = std::make_unique<Q>(opt.maxsize);
    int status = co_await stress(opt, *queue);
    co_return status;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse(argc, argv);
    weft::RuntimeOptions runtime;
    runtime.workers = opt.workers;
    try {
        if (opt.queue == "queue") return weft::run(stress_with_queue<weft::Queue<std::uint64_t>>(opt), runtime);
        return weft::run(stress_with_queue<weft::BackpressureQueue<std::uint64_t>>(opt), runtime);
    } catch (const std::exception& e) {
        std::cerr << "stress: FAIL: " << e.what() << "\n";
        return 1;
    } catch (const weft::CancelledError& e) {  // not a std::exception (see error.hpp)
        std::cerr << "stress: FAIL: the run was cancelled: " << e.what() << "\n";
        return 1;
    }
}
