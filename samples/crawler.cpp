// crawler: the asyncio tutorials' optimised crawler (aiohttp + asyncio.Semaphore + timeouts +
// retries with backoff + a rate limit + stats), written with weft.
//
//   crawler [--requests N] [--concurrency N] [--timeout-ms MS] [--attempts N] [--backoff-ms MS]
//           [--rate R] [--slow P] [--errors P] [--resets P] [--url URL] [--json FILE] [--workers N]
//
//   crawler --requests 100000 --concurrency 1000     # the tutorials' 100k-request experiment
//   crawler --url http://127.0.0.1:8080/             # crawl samples/http_server's GET / instead
//
// By default it crawls a target of its own: a weft::http::Server on 127.0.0.1 (port 0) in the
// same process, where a share of the pages fail on purpose: --slow P percent answer later
// than the timeout, --errors P answer 500, --resets P drop the connection mid-body. The faults
// are chosen per page from its number, so the outcome is known in advance: four faulty pages
// in five fail only their first attempt (the retry fetches them), one in five fails every
// attempt. At the end the crawler checks that every page was counted exactly once and, on its
// own target, that each page ended as injected; it exits 1 if not (and, with --url, if any
// request failed).
//
// A progress bar goes to stderr when stderr is a terminal; the summary table to stdout;
// --json FILE writes the summary as JSON too.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <weft/weft.hpp>

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

struct Options {
    std::size_t requests = 2000;
    std::size_t concurrency = 100;
    Millis timeout{1000};        // per attempt: the client's total_timeout
    std::size_t attempts = 3;    // per page, the first included
    Millis backoff{50};          // after the first failure; doubles, full jitter
    std::uint64_t rate = 0;      // attempts per second; 0: no limit
    double slow = 1, errors = 2, resets = 1;  // percent of pages (the built-in target only)
    std::string url;             // empty: the built-in target
    std::string json;            // --json FILE
    unsigned workers = 0;        // 0: one per CPU
};

// ---- The target's faults: which pages fail, how, and for how many attempts ----------------

enum class Outcome : std::uint8_t { ok, timeout, http_5xx, disconnected, connect, other, kCount };
constexpr const char* kOutcomeNames[] = {"ok", "timeout", "http 5xx", "disconnected", "connect", "other"};
constexpr std::size_t kOutcomes = static_cast<std::size_t>(Outcome::kCount);

struct Fault {
    Outcome kind = Outcome::ok;  // the failure injected (ok: none)
    std::size_t failing = 0;     // how many first attempts fail (SIZE_MAX: all)
};

std::uint64_t mix(std::uint64_t x) {  // splitmix64: a page number's fixed dice roll
    x += 0x9e3779b97f4a7c15;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
    x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
    return x ^ (x >> 31);
}

Fault fault_of(std::size_t page, const Options& o) {
    const std::uint64_t roll = mix(page);
    const double percent = static_cast<double>(roll % 1'000'000) / 10'000.0;  // in [0, 100)
    Fault f;
    if (percent < o.slow) f.kind = Outcome::timeout;
    else if (percent < o.slow + o.errors) f.kind = Outcome::http_5xx;
    else if (percent < o.slow + o.errors + o.resets) f.kind = Outcome::disconnected;
    else return f;
    f.failing = (roll >> 32) % 5 == 0 ? SIZE_MAX : 1;
    return f;
}

// ---- The target: a weft::http::Server that fails as told ---------------------------------

class FlakyTarget {
public:
    explicit FlakyTarget(const Options& o) : options_(o), seen_(new std::atomic<std::uint32_t>[o.requests]) {
        for (std::size_t i = 0; i < o.requests; ++i) seen_[i].store(0, std::memory_order_relaxed);
    }

    weft::http::Router routes() {
        weft::http::Router router;
        router.get("/page/{n}", [this](weft::http::Request& req) { return page(req); });
        return router;
    }

private:
    weft::Task<weft::http::Response> page(weft::http::Request& req) {
        std::string_view arg = req.path_param("n");
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
        if (ec != std::errc() || end != arg.data() + arg.size() || n >= options_.requests)
            throw weft::http::HttpError(404, "no such page");
        const std::size_t attempt = seen_[n].fetch_add(1, std::memory_order_relaxed) + 1;
        const Fault fault = fault_of(n, options_);
        if (attempt > fault.failing) co_return weft::http::Response::text("page " + std::to_string(n) + "\n");
        switch (fault.kind) {
            case Outcome::timeout:  // answer long after the client gave up
                co_await weft::sleep(2 * options_.timeout);
                co_return weft::http::Response::text("too late\n");
            case Outcome::http_5xx:
                co_return weft::http::Response::text("injected failure\n", 500);
            default:  // disconnected: promise 64 KiB, send 16, hang up
                co_return weft::http::Response::stream(
                    [](weft::http::BodyWriter& out) -> weft::Task<void> {
                        static const std::string block(16 * 1024, 'x');  // this size is sent at once
                        co_await out.write(block);
                        throw weft::IoError(ECONNRESET, "crawler target: injected reset");  // closes, quietly
                    },
                    64 * 1024);
        }
    }

    const Options& options_;
    std::unique_ptr<std::atomic<std::uint32_t>[]> seen_;  // attempts received, per page
};

// ---- Stats: counted once per page ---------------------------------------------------------

struct Stats {
    explicit Stats(std::size_t pages) : outcome(pages, kUnset), latency_us(pages, 0) {}

    void record(std::size_t page, Outcome o, weft::Clock::duration took) {
        outcome[page] = static_cast<std::uint8_t>(o);  // each page's own slot: no lock
        latency_us[page] = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
        by_outcome[static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed);
        done.fetch_add(1, std::memory_order_relaxed);
    }
    std::size_t count(Outcome o) const { return by_outcome[static_cast<std::size_t>(o)].load(); }
    std::size_t failed() const { return done.load() - count(Outcome::ok); }

    static constexpr std::uint8_t kUnset = 0xff;
    std::vector<std::uint8_t> outcome;      // per page
    std::vector<std::int64_t> latency_us;   // per page: start to end, retries included
    std::atomic<std::size_t> by_outcome[kOutcomes] = {};
    std::atomic<std::size_t> done{0};
    std::atomic<std::size_t> retries{0};
};

// The rate limiter's bucket: a tenth of a second's worth of attempts may start at once.
std::uint64_t rate_burst(const Options& o) { return std::max<std::uint64_t>(1, o.rate / 10); }

// ---- The crawler ----------------------------------------------------------------------------

// resp.raise_for_status(): an HTTP error status as an exception (5xx is worth a retry).
class HttpStatusError : public std::runtime_error {
public:
    HttpStatusError(const std::string& url, int status)
        : std::runtime_error(url + ": HTTP " + std::to_string(status)), status(status) {}
    int status;
};
class ServerError : public HttpStatusError {
public:
    using HttpStatusError::HttpStatusError;
};

weft::Task<std::string> fetch_once(weft::http::Client& client, const std::string& url) {
    weft::http::ClientResponse response = co_await client.get(url);
    std::string body = co_await response.text();  // read to the end: the connection is reused
    if (response.status() >= 500) throw ServerError(url, response.status());
    if (response.status() >= 400) throw HttpStatusError(url, response.status());
    co_return body;
}

class Crawler {
public:
    Crawler(const Options& o, Stats& stats)
        : slots_(o.concurrency), client_(client_options(o)), policy_(retry_policy(o)), stats_(stats) {
        if (o.rate > 0) limiter_.emplace(weft::RateLimiter::Options{.rate = o.rate, .burst = rate_burst(o)});
    }

    // readme: begin fetch
    //   async def fetch(session, url):
    //       async with semaphore:
    //           outcome = await fetch_with_retries(session, url)
    weft::Task<void> fetch(std::size_t page, std::string url) {
        auto permit = co_await slots_.acquire();  // at most `concurrency` pages at once
        const auto start = weft::now();
        const Outcome outcome = co_await fetch_with_retries(url);
        stats_.record(page, outcome, weft::now() - start);
    }  // `permit` is released here: the page that has waited longest starts
    // readme: end fetch

    //   for attempt in range(3):
    //       try: return await fetch_once(session, url)
    //       except (ClientError, TimeoutError): await asyncio.sleep(backoff * 2 ** attempt * random())
    // noinline: else clang places this coroutine's frame (and those it awaits: 2.2 KB) inside
    // fetch()'s, so each of the 100,000 pages waiting for a permit would hold one.
    [[gnu::noinline]] weft::Task<Outcome> fetch_with_retries(const std::string& url) {
        std::size_t attempt = 0;
        Outcome outcome = Outcome::ok;
        try {
            // readme: begin retry
            co_await weft::retry(
                [&]() -> weft::Task<std::string> {
                    if (++attempt > 1) stats_.retries.fetch_add(1, std::memory_order_relaxed);
                    if (limiter_) co_await limiter_->acquire();  // every attempt counts for the rate
                    co_return co_await fetch_once(client_, url);
                },
                policy_);
            // readme: end retry
        } catch (const weft::http::RequestTimeout&) {
            outcome = Outcome::timeout;
        } catch (const ServerError&) {
            outcome = Outcome::http_5xx;
        } catch (const weft::http::ServerDisconnected&) {
            outcome = Outcome::disconnected;
        } catch (const weft::http::ConnectError&) {
            outcome = Outcome::connect;
        } catch (const std::exception&) {  // 4xx, a malformed response...
            outcome = Outcome::other;
        }
        co_return outcome;
    }

    //   results = await asyncio.gather(*(fetch(session, url) for url in urls))
    weft::Task<void> crawl(const std::vector<std::string>& urls) {
        std::vector<weft::Task<void>> tasks;
        tasks.reserve(urls.size());
        for (std::size_t page = 0; page < urls.size(); ++page) tasks.push_back(fetch(page, urls[page]));
        co_await weft::gather(std::move(tasks));
    }

    weft::http::Client& client() { return client_; }

private:
    static weft::http::ClientOptions client_options(const Options& o) {
        weft::http::ClientOptions c;
        c.limit = o.concurrency;         // as many connections as pages in flight
        c.total_timeout = o.timeout;     // aiohttp.ClientTimeout(total=...)
        c.connect_timeout = o.timeout;
        return c;
    }
    // readme: begin policy
    static weft::RetryPolicy retry_policy(const Options& o) {
        weft::RetryPolicy p;
        p.attempts = o.attempts;
        p.initial = o.backoff;
        p.max_delay = 2s;
        p.jitter = weft::Jitter::full;  // a crowd of retries spreads out
        p.retry_if = weft::retry_on<weft::http::RequestTimeout, weft::http::ServerDisconnected,
                                    weft::http::ConnectError, ServerError>();
        return p;
    }
    // readme: end policy

    weft::Semaphore slots_;
    weft::http::Client client_;
    weft::RetryPolicy policy_;
    std::optional<weft::RateLimiter> limiter_;
    Stats& stats_;
};

// ---- Progress bar (stderr, a terminal only) and summary -----------------------------------

double seconds_since(weft::Clock::time_point start) {
    return std::chrono::duration<double>(weft::now() - start).count();
}

void print_progress(const Stats& stats, std::size_t total, weft::Clock::time_point start) {
    const std::size_t done = stats.done.load();
    const int filled = static_cast<int>(30 * done / total);
    std::fprintf(stderr, "\r[%-30.*s] %zu/%zu  %.0f req/s  %zu failed ", filled, "##############################", done,
                 total, static_cast<double>(done) / seconds_since(start), stats.failed());
}

weft::Task<void> show_progress(const Stats& stats, std::size_t total, weft::Clock::time_point start) {
    for (;;) {
        co_await weft::sleep(250ms);
        print_progress(stats, total, start);
    }
}

// task.cancel(); await asyncio.wait([task])
weft::Task<void> cancel_and_wait(weft::JoinHandle<void>& task) {
    task.cancel();
    try {
        co_await task;
    } catch (const weft::CancelledError&) {
    }
}

struct Summary {
    std::size_t requests, ok, failed, retries;
    std::size_t by_outcome[kOutcomes];
    double p50_ms, p99_ms, max_ms, rps, wall_s;
};

Summary summarize(const Stats& stats, double wall_s) {
    Summary s{};
    s.requests = stats.outcome.size();
    s.ok = stats.count(Outcome::ok);
    s.failed = stats.failed();
    s.retries = stats.retries.load();
    for (std::size_t k = 0; k < kOutcomes; ++k) s.by_outcome[k] = stats.by_outcome[k].load();
    std::vector<std::int64_t> sorted = stats.latency_us;
    std::sort(sorted.begin(), sorted.end());
    auto at = [&](double q) {
        return sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1))] / 1000.0;
    };
    s.p50_ms = at(0.50);
    s.p99_ms = at(0.99);
    s.max_ms = at(1.0);
    s.wall_s = wall_s;
    s.rps = static_cast<double>(s.requests) / wall_s;
    return s;
}

void print_table(const Summary& s) {
    std::printf("  %-14s %10zu\n", "requests", s.requests);
    std::printf("  %-14s %10zu\n", "ok", s.ok);
    std::printf("  %-14s %10zu\n", "failed", s.failed);
    for (std::size_t k = 1; k < kOutcomes; ++k) std::printf("    %-12s %10zu\n", kOutcomeNames[k], s.by_outcome[k]);
    std::printf("  %-14s %10zu\n", "retries", s.retries);
    std::printf("  %-14s %10.1f ms\n", "latency p50", s.p50_ms);
    std::printf("  %-14s %10.1f ms\n", "latency p99", s.p99_ms);
    std::printf("  %-14s %10.1f ms\n", "latency max", s.max_ms);
    std::printf("  %-14s %10.0f req/s\n", "throughput", s.rps);
    std::printf("  %-14s %10.2f s\n", "wall time", s.wall_s);
}

bool write_json(const Summary& s, const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) return false;
    std::fprintf(f, "{\"requests\": %zu, \"ok\": %zu, \"failed\": %zu, \"failures\": {", s.requests, s.ok, s.failed);
    for (std::size_t k = 1; k < kOutcomes; ++k) {
        std::string key = kOutcomeNames[k];
        std::replace(key.begin(), key.end(), ' ', '_');
        std::fprintf(f, "%s\"%s\": %zu", k > 1 ? ", " : "", key.c_str(), s.by_outcome[k]);
    }
    std::fprintf(
        f,
        "}, \"retries\": %zu, \"rps\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"wall_s\": %.3f}\n",
        s.retries, s.rps, s.p50_ms, s.p99_ms, s.max_ms, s.wall_s);
    return std::fclose(f) == 0;
}

// ---- Checks: every page counted once; on our target, each as injected ----------------------

int check(const Stats& stats, const Summary& s, const Options& o, bool own_target) {
    std::size_t unset = 0, wrong = 0, expected_retries = 0;
    std::size_t expected[kOutcomes] = {};
    for (std::size_t page = 0; page < s.requests; ++page) {
        if (stats.outcome[page] == Stats::kUnset) ++unset;
        if (!own_target) continue;
        const Fault f = fault_of(page, o);
        const Outcome want = f.failing < o.attempts ? Outcome::ok : f.kind;
        expected_retries += std::min(f.failing, o.attempts - 1);
        ++expected[static_cast<std::size_t>(want)];
        if (stats.outcome[page] != static_cast<std::uint8_t>(want)) ++wrong;
    }
    if (unset != 0 || s.ok + s.failed != s.requests) {
        std::printf("crawler: WRONG: %zu ok + %zu failed for %zu requests, %zu never finished\n", s.ok, s.failed,
                    s.requests, unset);
        return 1;
    }
    if (o.rate > 0) {  // with a correct limiter, the last attempt started no sooner than this
        const double attempts = static_cast<double>(s.requests + s.retries);
        const double at_least = (attempts - static_cast<double>(rate_burst(o))) / static_cast<double>(o.rate);
        if (s.wall_s < at_least - 0.001) {
            std::printf("crawler: WRONG: %.0f attempts in %.3f s, faster than %llu/s allows (%.3f s)\n", attempts,
                        s.wall_s, static_cast<unsigned long long>(o.rate), at_least);
            return 1;
        }
    }
    if (own_target) {
        if (wrong != 0) {
            std::printf("crawler: WRONG: %zu pages did not end as injected (expected %zu ok", wrong, expected[0]);
            for (std::size_t k = 1; k < kOutcomes; ++k) std::printf(", %zu %s", expected[k], kOutcomeNames[k]);
            std::printf(")\n");
            return 1;
        }
        // A retry the injection did not cause is the machine's (a timeout under load): said, not fatal.
        if (s.retries != expected_retries)
            std::printf("crawler: %zu retries, %zu of them injected\n", s.retries, expected_retries);
        std::printf(
            "crawler: %zu requests: %zu ok, %zu failed (%zu timeout, %zu http 5xx, %zu disconnected), as injected\n",
            s.requests, s.ok, s.failed, s.by_outcome[1], s.by_outcome[2], s.by_outcome[3]);
        return 0;
    }
    if (s.failed != 0) {
        std::printf("crawler: %zu of %zu requests failed\n", s.failed, s.requests);
        return 1;
    }
    std::printf("crawler: %zu requests, all ok\n", s.requests);
    return 0;
}

// ---- main ----------------------------------------------------------------------------------

weft::Task<int> crawl_and_check(Options o) {
    const bool own_target = o.url.empty();
    std::optional<FlakyTarget> target;
    std::optional<weft::http::Server> server;
    std::optional<weft::JoinHandle<void>> serving;
    std::string base = o.url;
    if (own_target) {
        target.emplace(o);
        weft::http::ServerOptions server_options;
        server_options.graceful_timeout = 4 * o.timeout;  // the slow pages' handlers finish
        server.emplace(target->routes(), server_options);
        server->listen(weft::net::SocketAddress::ip("127.0.0.1", 0));
        serving = weft::spawn(server->serve(), "target");
        base = "http://" + server->local_address().to_string() + "/page/";
    }
    std::vector<std::string> urls(o.requests, base);
    if (own_target)
        for (std::size_t page = 0; page < o.requests; ++page) urls[page] += std::to_string(page);

    Stats stats(o.requests);
    Crawler crawler(o, stats);
    int status = 0;
    if (!own_target) {  // a target that is not there: one clear line, not N failures
        try {
            co_await fetch_once(crawler.client(), o.url);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "crawler: the first request failed, not crawling: %s\n", e.what());
            status = 1;
        }
    }
    if (status == 0) {
        std::printf("crawler: %zu requests to %s%s, %zu at a time, timeout %lld ms, %zu attempts\n", o.requests,
                    base.c_str(), own_target ? "{n}" : "", o.concurrency, static_cast<long long>(o.timeout.count()),
                    o.attempts);
        std::fflush(stdout);
        const auto start = weft::now();
        std::optional<weft::JoinHandle<void>> progress;
        if (isatty(STDERR_FILENO)) progress = weft::spawn(show_progress(stats, o.requests, start), "progress");
        co_await crawler.crawl(urls);
        const double wall_s = seconds_since(start);
        if (progress) {
            co_await cancel_and_wait(*progress);
            print_progress(stats, o.requests, start);
            std::fprintf(stderr, "\n");
        }
        Summary summary = summarize(stats, wall_s);
        print_table(summary);
        if (!o.json.empty() && !write_json(summary, o.json)) {
            std::printf("crawler: cannot write %s: %s\n", o.json.c_str(), std::strerror(errno));
            status = 1;
        }
        status = std::max(status, check(stats, summary, o, own_target));
    }
    if (serving) co_await cancel_and_wait(*serving);  // a graceful stop
    co_return status;
}

// Each page in flight holds a client socket (and, with the built-in target, a server one).
bool raise_fd_limit(std::size_t needed) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
    if (limit.rlim_cur < needed && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur >= needed) return true;
    std::fprintf(stderr, "crawler: needs about %zu file descriptors, the limit is %llu (ulimit -n)\n", needed,
                 static_cast<unsigned long long>(limit.rlim_cur));
    return false;
}

int usage(const char* why) {
    std::fprintf(stderr,
                 "crawler: %s\n"
                 "usage: crawler [--requests N] [--concurrency N] [--timeout-ms MS] [--attempts N] [--backoff-ms MS]\n"
                 "               [--rate R] [--slow P] [--errors P] [--resets P] [--url URL] [--json FILE] [--workers N]\n",
                 why);
    return 2;
}

// A non-negative number; `whole`: no fraction either.
bool parse_number(const char* text, double& out, bool whole) {
    char* end = nullptr;
    errno = 0;
    out = std::strtod(text, &end);
    return end != text && *end == '\0' && errno == 0 && out >= 0 && out < 1e15 &&
           (!whole || out == static_cast<double>(static_cast<long long>(out)));
}

template <class T>
bool assign(T& out, double n) {
    if constexpr (std::is_same_v<T, Millis>) out = Millis(static_cast<long long>(n));
    else out = static_cast<T>(n);
    return true;
}

int main(int argc, char** argv) {
    Options o;
    bool faults_given = false;
    for (int i = 1; i < argc; i += 2) {
        const std::string flag = argv[i];
        if (i + 1 >= argc) return usage(("unknown option or missing value: " + flag).c_str());
        const char* value = argv[i + 1];
        double n = 0;
        const bool whole = parse_number(value, n, true);
        bool ok = true;
        faults_given = faults_given || flag == "--slow" || flag == "--errors" || flag == "--resets";
        if (flag == "--requests") ok = whole && n >= 1 && assign(o.requests, n);
        else if (flag == "--concurrency") ok = whole && n >= 1 && assign(o.concurrency, n);
        else if (flag == "--timeout-ms") ok = whole && n >= 1 && assign(o.timeout, n);
        else if (flag == "--attempts") ok = whole && n >= 1 && assign(o.attempts, n);
        else if (flag == "--backoff-ms") ok = whole && assign(o.backoff, n);
        else if (flag == "--rate") ok = whole && assign(o.rate, n);
        else if (flag == "--workers") ok = whole && n < 1024 && assign(o.workers, n);
        else if (flag == "--slow") ok = parse_number(value, o.slow, false) && o.slow <= 100;
        else if (flag == "--errors") ok = parse_number(value, o.errors, false) && o.errors <= 100;
        else if (flag == "--resets") ok = parse_number(value, o.resets, false) && o.resets <= 100;
        else if (flag == "--url") o.url = value;
        else if (flag == "--json") o.json = value;
        else return usage(("unknown option: " + flag).c_str());
        if (!ok) return usage(("bad value for " + flag + ": " + value).c_str());
    }
    if (o.slow + o.errors + o.resets > 100) return usage("--slow + --errors + --resets is more than 100 percent");
    if (faults_given && !o.url.empty())
        return usage("--slow, --errors and --resets shape the built-in target's pages: they cannot apply to --url");
    if (!raise_fd_limit((o.url.empty() ? 2 : 1) * o.concurrency + 256)) return 1;
    const unsigned workers = o.workers;
    try {
        return weft::run(crawl_and_check(std::move(o)), {.workers = workers});
    } catch (const std::exception& e) {  // a bad --url, no port free...
        std::fprintf(stderr, "crawler: %s\n", e.what());
        return 1;
    }
}
