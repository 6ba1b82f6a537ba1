// retry()'s policy arithmetic: validation, the backoff with its jitter, the seed, the log line.
#include <weft/retry.hpp>

#include <atomic>
#include <cmath>
#include <random>

#include <spdlog/spdlog.h>

namespace weft::detail {

namespace {
std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Uniform in [0, 1].
double unit(std::uint64_t& rng) noexcept {
    return static_cast<double>(splitmix64(rng) >> 11) * (1.0 / static_cast<double>((std::uint64_t{1} << 53) - 1));
}
}  // namespace

void check_retry_policy(const RetryPolicy& policy) {
    if (policy.attempts == 0) throw UsageError("weft::retry: attempts must be at least 1 (the first try counts)");
    if (policy.initial < Clock::duration::zero() || policy.max_delay < Clock::duration::zero())
        throw UsageError("weft::retry: initial and max_delay must not be negative");
    if (!(policy.multiplier >= 1.0) || !std::isfinite(policy.multiplier))
        throw UsageError("weft::retry: multiplier must be a finite number >= 1");
    if (policy.deadline && *policy.deadline <= Clock::duration::zero())
        throw UsageError("weft::retry: deadline must be positive (leave it empty for none)");
    if (policy.attempt_timeout && *policy.attempt_timeout <= Clock::duration::zero())
        throw UsageError("weft::retry: attempt_timeout must be positive (leave it empty for none)");
}

std::uint64_t retry_seed(const RetryPolicy& policy) noexcept {
    if (policy.seed != 0) return policy.seed;
    // A random seed per thread, then a fresh stream per call.
    thread_local std::uint64_t state = [] {
        std::random_device device;
        return (static_cast<std::uint64_t>(device()) << 32) ^ device();
    }();
    return splitmix64(state);
}

Clock::duration retry_delay(const RetryPolicy& policy, std::size_t failures, std::uint64_t& rng) noexcept {
    const double cap = static_cast<double>(policy.max_delay.count());
    double backoff = static_cast<double>(policy.initial.count());
    for (std::size_t i = 1; i < failures && backoff < cap; ++i) backoff *= policy.multiplier;
    if (backoff > cap) backoff = cap;
    double delay = backoff;
    switch (policy.jitter) {
        case Jitter::none:
            break;
        case Jitter::full:
            delay = backoff * unit(rng);
            break;
        case Jitter::equal:
            delay = backoff / 2 + backoff / 2 * unit(rng);
            break;
    }
    return Clock::duration(static_cast<Clock::rep>(delay));
}

void log_retry(std::size_t attempt, const std::exception_ptr& error, Clock::duration delay) {
    if (!spdlog::should_log(spdlog::level::debug)) return;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(delay).count();
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        spdlog::debug("weft::retry: attempt {} failed ({}); retrying in {} ms", attempt, e.what(), ms);
    } catch (...) {
        spdlog::debug("weft::retry: attempt {} failed; retrying in {} ms", attempt, ms);
    }
}

}  // namespace weft::detail
