// offload: the seeds' "threads vs async" comparison, rebuilt honestly. N requests, each a
// blocking call of D ms (std::this_thread::sleep_for stands in for a legacy client library)
// that returns its index, run three ways, each in its own process so peak RSS is its own:
//   sequential  one thread, one request after another (the reference: wall ~ N*D)
//   std_pool    a fixed pool of P std::threads fed by a mutex+condvar queue, std::futures
//   weft        N weft tasks, each `co_await weft::offload(call)` on the blocking pool
//               (elastic up to blocking_threads, default RuntimeOptions' 512)
//
//   weft_bench_offload [n=10000] [call_ms=1] [pool_threads=100] [blocking_threads=512] [threads=nproc]
//   weft_bench_offload variant=3 ...    one variant only (1 sequential, 2 std_pool, 3 weft)
//
// Without variant= the program runs itself once per variant and passes their RESULT lines
// through: `RESULT offload <variant> wall_ms=... peak_rss_mb=... ... check=<sum of indices>`.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/bench.hpp"

extern char** environ;

namespace {

struct Params {
    std::uint64_t n;
    std::uint64_t call_ms;
    unsigned pool_threads;
    unsigned blocking_threads;
};

std::uint64_t blocking_request(std::uint64_t index, std::uint64_t call_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(call_ms));
    return index;
}

double peak_rss_mb() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

bench::Outcome run_sequential(const Params& p) {
    bench::Stopwatch clock;
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < p.n; ++i) sum += blocking_request(i, p.call_ms);
    return {sum, clock.ms()};
}

// The textbook pool: one queue under a mutex, P threads, a future per request.
class StdPool {
public:
    explicit StdPool(unsigned threads) {
        for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    }
    ~StdPool() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_) t.join();
    }
    std::future<std::uint64_t> submit(std::packaged_task<std::uint64_t()> job) {
        auto future = job.get_future();
        {
            std::lock_guard lock(mutex_);
            queue_.push_back(std::move(job));
        }
        cv_.notify_one();
        return future;
    }

private:
    void work() {
        for (;;) {
            std::packaged_task<std::uint64_t()> job;
            {
                std::unique_lock lock(mutex_);
                cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
                if (queue_.empty()) return;
                job = std::move(queue_.front());
                queue_.pop_front();
            }
            job();
        }
    }

    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::packaged_task<std::uint64_t()>> queue_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

bench::Outcome run_std_pool(const Params& p) {
    bench::Stopwatch clock;
    StdPool pool(p.pool_threads);
    std::vector<std::future<std::uint64_t>> futures;
    futures.reserve(p.n);
    for (std::uint64_t i = 0; i < p.n; ++i)
        futures.push_back(
            pool.submit(std::packaged_task<std::uint64_t()>([i, &p] { return blocking_request(i, p.call_ms); })));
    std::uint64_t sum = 0;
    for (auto& f : futures) sum += f.get();
    return {sum, clock.ms()};
}

weft::Task<std::uint64_t> request(std::uint64_t index, std::uint64_t call_ms) {
    co_return co_await weft::offload(blocking_request, index, call_ms);
}

weft::Task<bench::Outcome> weft_root(Params p) {
    bench::Stopwatch clock;
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    handles.reserve(p.n);
    for (std::uint64_t i = 0; i < p.n; ++i) handles.push_back(weft::spawn(request(i, p.call_ms)));
    std::uint64_t sum = 0;
    for (auto& handle : handles) sum += co_await handle;
    co_return bench::Outcome{sum, clock.ms()};
}

bench::Outcome run_weft(const Params& p, unsigned workers) {
    return weft::run(
        weft_root(p),
        weft::RuntimeOptions{.workers = workers, .name = "bench", .max_blocking_threads = p.blocking_threads});
}

// Re-runs this program once per variant; returns non-zero if any child failed.
int run_all_variants(int argc, char** argv) {
    int status = 0;
    for (int variant = 1; variant <= 3; ++variant) {
        std::vector<std::string> args{"/proc/self/exe", "variant=" + std::to_string(variant)};
        for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
        std::vector<char*> raw;
        for (auto& a : args) raw.push_back(a.data());
        raw.push_back(nullptr);
        std::fflush(stdout);
        pid_t pid = 0;
        if (::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, raw.data(), environ) != 0) {
            std::perror("posix_spawn");
            return 2;
        }
        int child = 0;
        ::waitpid(pid, &child, 0);
        if (!WIFEXITED(child) || WEXITSTATUS(child) != 0) status = 1;
    }
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    bench::Args args(argc, argv);
    const std::uint64_t variant = args.get("variant", 0);
    const Params p{args.get("n", 10'000), args.get("call_ms", 1), static_cast<unsigned>(args.get("pool_threads", 100)),
                   static_cast<unsigned>(args.get("blocking_threads", 512))};
    const unsigned workers = args.threads();
    if (variant == 0) return run_all_variants(argc, argv);

    bench::Outcome out;
    std::string extra;
    const char* name = "";
    switch (variant) {
        case 1:
            name = "sequential";
            out = run_sequential(p);
            break;
        case 2:
            name = "std_pool";
            out = run_std_pool(p);
            extra = " pool_threads=" + std::to_string(p.pool_threads);
            break;
        case 3:
            name = "weft";
            out = run_weft(p, workers);
            extra = " blocking_threads=" + std::to_string(p.blocking_threads) + " threads=" + std::to_string(workers);
            break;
        default:
            std::fprintf(stderr, "variant=%llu: expected 1, 2 or 3\n", static_cast<unsigned long long>(variant));
            return 2;
    }
    const std::uint64_t expected = p.n * (p.n - 1) / 2;
    std::printf("RESULT offload %s wall_ms=%.1f peak_rss_mb=%.1f n=%llu call_ms=%llu%s check=%llu\n", name, out.ms,
                peak_rss_mb(), static_cast<unsigned long long>(p.n), static_cast<unsigned long long>(p.call_ms),
                extra.c_str(), static_cast<unsigned long long>(out.check));
    std::fflush(stdout);
    for (auto& key : args.unused()) std::fprintf(stderr, "offload: warning: argument '%s' is not used\n", key.c_str());
    if (out.check != expected) {
        std::fprintf(stderr, "CHECK FAILED: offload %s check=%llu expected=%llu\n", name,
                     static_cast<unsigned long long>(out.check), static_cast<unsigned long long>(expected));
        return 1;
    }
    return 0;
}
