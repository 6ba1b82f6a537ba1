// semaphore: limit how many tasks do something at once (asyncio.Semaphore). 30 downloads are
// started together, but at most 3 run at a time; the others wait their turn in FIFO order.
// Checks that every download ran and that never more than 3 ran at once.
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

using namespace std::chrono_literals;

constexpr int kLimit = 3;
std::atomic<int> running{0};
std::atomic<int> most_running{0};

// readme: begin acquire
weft::Task<std::size_t> download(weft::Semaphore& slots, int id) {
    //   async with sem:
    //       return await fetch(url)
    auto permit = co_await slots.acquire();  // waits while all 3 permits are taken
    // readme: end acquire
    int now_running = ++running;
    int seen = most_running.load();
    while (now_running > seen && !most_running.compare_exchange_weak(seen, now_running)) {
    }
    // readme: begin release
    co_await weft::sleep(10ms);  // the transfer
    --running;
    co_return ("page-" + std::to_string(id)).size();
}  // `permit` is released here: the longest-waiting download starts
// readme: end release

weft::Task<std::size_t> download_all(int count) {
    // readme: begin limit
    weft::Semaphore slots(kLimit);  // sem = asyncio.Semaphore(3)
    std::vector<weft::Task<std::size_t>> downloads;
    for (int i = 0; i < count; ++i) downloads.push_back(download(slots, i));
    auto start = weft::now();
    std::vector<std::size_t> sizes = co_await weft::gather(std::move(downloads));  // all started at once
    // readme: end limit
    std::cout << count << " downloads of 10 ms, " << kLimit
              << " at a time: " << std::chrono::duration<double, std::milli>(weft::now() - start).count()
              << " ms (about " << (count + kLimit - 1) / kLimit * 10 << ")\n";
    std::size_t bytes = 0;
    for (std::size_t size : sizes) bytes += size;
    co_return bytes;
}

int main() {
    const int count = 30;
    std::size_t bytes = weft::run(download_all(count), weft::RuntimeOptions{.workers = 2});
    const std::size_t expected = 10 * 6 + 20 * 7;  // "page-0".."page-9", "page-10".."page-29"
    std::cout << "most downloads running at once: " << most_running << '\n';
    if (bytes != expected || most_running > kLimit || most_running < 1) return 1;
    std::cout << "semaphore: 30 downloads done, never more than 3 at once\n";
}
