// What every weft benchmark program shares (shared/bench/SPEC.md): key=value arguments,
// the worker count, a stopwatch, and the one RESULT line on stdout.
//
//   int main(int argc, char** argv) {
//       bench::Args args(argc, argv);                        // e.g. `weft_bench_spawn n=1000 threads=1`
//       const std::uint64_t n = args.get("n", 1'000'000);
//       bench::Outcome out = bench::run(args, root(n));      // root times itself with a Stopwatch
//       return bench::Result("spawn", args).rate(n, out.ms).count("n", n).finish(out.check, n * (n - 1) / 2);
//   }
//
// Contract: stdout carries exactly one line, `RESULT <workload> weft key=value ... check=<v>`,
// with the sizes and `threads=` on it so a reader (shared/bench/check_results.py) can recompute
// the expected check. Everything else goes to stderr. The exit status is 1 when the check is
// wrong, 2 when the arguments are.
#pragma once

#include <sched.h>

#include <weft/weft.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

// The CPUs this process may run on: what `nproc` prints.
inline unsigned nproc() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
        return static_cast<unsigned>(CPU_COUNT(&set));
    }
    unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? n : 1;
}

// `key=value` command-line arguments with numeric values. A key the program never asked
// for is reported by Result::finish, so a typo (`N=10`) cannot pass silently as a
// full-size run.
class Args {
public:
    Args(int argc, char** argv) {
        for (int i = 1; i < argc; ++i) {
            const char* eq = std::strchr(argv[i], '=');
            if (eq == nullptr || eq == argv[i]) {
                std::fprintf(stderr, "usage: %s [key=value ...]; bad argument '%s'\n", argv[0], argv[i]);
                std::exit(2);
            }
            entries_.push_back(
                {std::string(argv[i], static_cast<std::size_t>(eq - argv[i])), std::string(eq + 1), false});
        }
    }

    std::uint64_t get(std::string_view key, std::uint64_t fallback) const {
        for (auto& entry : entries_) {
            if (entry.key != key) continue;
            entry.used = true;
            char* end = nullptr;
            std::uint64_t value = std::strtoull(entry.value.c_str(), &end, 10);
            if (entry.value.empty() || *end != '\0') {
                std::fprintf(stderr, "%s=%s: expected an unsigned integer\n", entry.key.c_str(), entry.value.c_str());
                std::exit(2);
            }
            return value;
        }
        return fallback;
    }

    // Worker threads: `threads=N`, else every CPU (SPEC.md).
    unsigned threads() const {
        auto n = static_cast<unsigned>(get("threads", nproc()));
        return n > 0 ? n : 1;
    }

    std::vector<std::string> unused() const {
        std::vector<std::string> keys;
        for (auto& entry : entries_) {
            if (!entry.used) keys.push_back(entry.key);
        }
        return keys;
    }

private:
    struct Entry {
        std::string key;
        std::string value;
        mutable bool used;
    };
    std::vector<Entry> entries_;
};

using Clock = std::chrono::steady_clock;

// Started on construction; create it inside the root task, after the runtime is up.
class Stopwatch {
public:
    double ms() const { return std::chrono::duration<double, std::milli>(Clock::now() - start_).count(); }

private:
    Clock::time_point start_ = Clock::now();
};

// What a root task hands back: the value that proves the work was done, and its time.
struct Outcome {
    std::uint64_t check = 0;
    double ms = 0;
};

// Runs the root task on a fresh runtime with args.threads() workers (weft::run). When they
// take every CPU, each is pinned to its own, as libfork and TooManyCooks pin theirs in the
// peers' benchmarks, so the OS never stacks two on one CPU; fewer are left to the OS, which
// picks the least busy CPUs. `pin=0|1` overrides.
template <class T>
T run(const Args& args, weft::Task<T> root) {
    const unsigned threads = args.threads();
    const bool pin = args.get("pin", threads >= nproc() ? 1 : 0) != 0;
    return weft::run(std::move(root), weft::RuntimeOptions{.workers = threads, .name = "bench", .pin_workers = pin});
}

// Builds the RESULT line: metrics in the order added, then threads=, then check=.
class Result {
public:
    Result(std::string_view workload, const Args& args)
        : args_(args), workload_(workload), line_("RESULT " + workload_ + " weft") {}

    Result& count(std::string_view key, std::uint64_t value) { return add(key, std::to_string(value)); }

    Result& value(std::string_view key, double value, int decimals) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
        return add(key, buf);
    }

    // ops_per_s=<ops per second> wall_ms=<ms, 1 decimal>
    Result& rate(double ops, double wall_ms) {
        return value("ops_per_s", ops / (wall_ms / 1000.0), 0).value("wall_ms", wall_ms, 1);
    }

    // Prints the line; returns main's exit status (1 when check != expected).
    int finish(std::uint64_t check, std::uint64_t expected) {
        add("threads", std::to_string(args_.threads()));
        add("check", std::to_string(check));
        std::printf("%s\n", line_.c_str());
        std::fflush(stdout);
        for (auto& key : args_.unused()) {
            std::fprintf(stderr, "%s: warning: argument '%s' is not used by this workload\n", workload_.c_str(),
                         key.c_str());
        }
        if (check != expected) {
            std::fprintf(stderr, "CHECK FAILED: %s weft check=%llu expected=%llu\n", workload_.c_str(),
                         static_cast<unsigned long long>(check), static_cast<unsigned long long>(expected));
            return 1;
        }
        return 0;
    }

private:
    Result& add(std::string_view key, std::string_view text) {
        line_.append(" ").append(key).append("=").append(text);
        return *this;
    }

    const Args& args_;
    std::string workload_;
    std::string line_;
};

}  // namespace bench
