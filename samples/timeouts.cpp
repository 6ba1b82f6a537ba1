// timeouts: asyncio's three ways to bound waiting. wait_for gives up on one awaitable (and
// cancels it); a timeout() scope bounds a block of code, and reschedule() moves its deadline
// (an idle timeout that each chunk of progress pushes back); weft::retry tries a flaky
// operation again with backoff. Checks the outcome of each case and exits 1 on a wrong one.
//
// It runs on the virtual clock (RuntimeOptions::virtual_time): sleeps end at once in
// simulated time, so the sample takes milliseconds and prints the same times on every run.
// Remove `.virtual_time = true` to watch it in real time (about 1.5 s).
#include <weft/weft.hpp>

#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

long long ms_since(weft::Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(weft::now() - start).count();
}

int wrong = 0;
void check(bool ok, const char* what) {
    if (!ok) {
        std::cout << "WRONG: " << what << '\n';
        ++wrong;
    }
}

// --- wait_for -----------------------------------------------------------------------------
bool slow_query_cleaned_up = false;

weft::Task<int> slow_query() {
    try {
        co_await weft::sleep(10s);
        co_return 42;
    } catch (const weft::CancelledError&) {
        slow_query_cleaned_up = true;  // wait_for cancelled us: the work sees CancelledError
        throw;
    }
}

weft::Task<int> quick_query() {
    co_await weft::sleep(10ms);
    co_return 7;
}

weft::Task<void> demo_wait_for() {
    // readme: begin wait_for
    //   try:
    //       await asyncio.wait_for(slow_query(), timeout=0.5)
    //   except TimeoutError:
    //       print('gave up')
    auto start = weft::now();
    try {
        int answer = co_await weft::wait_for(slow_query(), 500ms);
        std::cout << "wait_for: got " << answer << '\n';
        check(false, "wait_for returned instead of timing out");
    } catch (const weft::TimeoutError&) {  // the caller sees TimeoutError
        std::cout << "wait_for: gave up after " << ms_since(start) << " ms\n";
    }
    // readme: end wait_for
    check(slow_query_cleaned_up, "slow_query saw no CancelledError");

    // Work that finishes in time returns its value as if awaited directly.
    int fast = co_await weft::wait_for(quick_query(), 500ms);
    check(fast == 7, "wait_for lost a fast result");
}

// --- timeout() with reschedule: an idle timeout -------------------------------------------
// Reads chunks from a stream that stalls after `stall_after` of them; gives up when no chunk
// arrived for 300 ms, however long the whole transfer takes.
weft::Task<int> read_chunks(int total, int stall_after) {
    int received = 0;
    try {
        // readme: begin reschedule
        //   async with asyncio.timeout(0.3) as cm:
        //       async for chunk in stream:
        //           cm.reschedule(asyncio.get_running_loop().time() + 0.3)
        auto idle = weft::timeout(300ms);
        while (received < total) {
            co_await weft::sleep(received < stall_after ? 100ms : 1h);  // the next chunk arrives
            ++received;
            idle.reschedule(weft::now() + 300ms);  // progress: push the deadline back
        }
        // readme: end reschedule
    } catch (const weft::TimeoutError&) {  // our scope expired (e.scope() == &idle)
        std::cout << "timeout: stream stalled after " << received << " chunks\n";
    }
    co_return received;
}

// --- retry --------------------------------------------------------------------------------
int attempts = 0;

weft::Task<std::string> flaky_fetch() {  // fails twice, then answers
    ++attempts;
    co_await weft::sleep(5ms);
    if (attempts < 3) throw std::runtime_error("connection reset");
    co_return "payload";
}

weft::Task<void> demo_retry() {
    // readme: begin retry
    // tenacity: @retry(stop=stop_after_attempt(5), wait=wait_exponential(multiplier=0.1))
    auto start = weft::now();
    std::string body = co_await weft::retry([] { return flaky_fetch(); },
                                            {.attempts = 5, .initial = 100ms, .jitter = weft::Jitter::none});
    // readme: end retry
    std::cout << "retry: '" << body << "' on attempt " << attempts << " after " << ms_since(start)
              << " ms (5 + 100 + 5 + 200 + 5)\n";
    check(body == "payload" && attempts == 3, "retry: not the third attempt's payload");

    // Never succeeds: after the last attempt its exception comes out as it was.
    attempts = -100;
    try {
        co_await weft::retry([] { return flaky_fetch(); }, {.attempts = 4, .initial = 10ms});
        check(false, "retry of a failing call returned");
    } catch (const std::runtime_error& e) {
        std::cout << "retry: gave up after " << attempts + 100 << " attempts: " << e.what() << '\n';
        check(attempts + 100 == 4, "retry: not 4 attempts");
    }
}

weft::Task<void> timeouts() {
    co_await demo_wait_for();
    int whole = co_await read_chunks(/*total=*/10, /*stall_after=*/10);
    std::cout << "timeout: read all " << whole << " chunks in 1 s although the idle timeout is 300 ms\n";
    check(whole == 10, "the idle timeout cut a healthy stream short");
    int stalled = co_await read_chunks(/*total=*/10, /*stall_after=*/4);
    check(stalled == 4, "the stalled stream did not stop after 4 chunks");
    co_await demo_retry();
}

int main() {
    weft::run(timeouts(), weft::RuntimeOptions{.workers = 1, .virtual_time = true});
    if (wrong != 0) return 1;
    std::cout
        << "timeouts: wait_for gave up, the idle timeout stopped a stalled stream, retry succeeded on attempt 3\n";
}
