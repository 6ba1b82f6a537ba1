// backpressure: a fast producer and a slow consumer joined by a weft::BackpressureQueue with a
// high and a low watermark. The producer pauses when 64 items are queued and resumes only once
// the consumer has drained them down to 16: a few long pauses rather than a stall per item.
// (asyncio's transports do this with pause_writing()/resume_writing() and
// set_write_buffer_limits(high, low); a plain asyncio.Queue(maxsize) blocks item by item.)
// Checks that every item arrived, in order, and that the queue never held more than 64.
#include <weft/weft.hpp>

#include <chrono>
#include <iostream>

using namespace std::chrono_literals;

// readme: begin producer
constexpr std::size_t kHigh = 64, kLow = 16;

weft::Task<void> producer(weft::BackpressureQueue<int>& queue, int count) {
    for (int i = 0; i < count; ++i) co_await queue.put(i);  // waits while the queue is paused
    queue.shutdown();  // no more items: the consumer's get() throws once the queue is empty
}
// readme: end producer

weft::Task<int> consumer(weft::BackpressureQueue<int>& queue) {
    int expected = 0, out_of_order = 0;
    try {
        for (;;) {
            int item = co_await queue.get();
            out_of_order += (item != expected++);
            if (item % 100 == 99) co_await weft::sleep(1ms);  // slow: a write to a busy peer
        }
    } catch (const weft::QueueShutDown&) {
    }
    co_return out_of_order == 0 ? expected : -1;
}

// readme: begin stats
weft::Task<int> pipeline(int count) {
    weft::BackpressureQueue<int> queue(kHigh, kLow);
    auto consuming = weft::spawn(consumer(queue));
    auto start = weft::now();
    co_await weft::spawn(producer(queue, count));
    int received = co_await consuming;
    weft::BackpressureStats stats = queue.stats();
    // readme: end stats
    std::cout << "items " << received << ", pauses " << stats.pauses << ", resumes " << stats.resumes
              << ", put() calls that waited " << stats.putter_waits << ", deepest " << stats.max_depth << ", in "
              << std::chrono::duration<double, std::milli>(weft::now() - start).count() << " ms\n";
    // Exact: everything arrived; the producer paused at least once (the consumer sleeps while
    // it produces) and every pause but perhaps the last was followed by a resume.
    bool ok = received == count && stats.max_depth <= kHigh && stats.pauses >= 1 &&
              (stats.resumes == stats.pauses || stats.resumes + 1 == stats.pauses);
    co_return ok ? received : -1;
}

int main() {
    const int count = 2000;
    int received = weft::run(pipeline(count), weft::RuntimeOptions{.workers = 2});
    if (received != count) return 1;
    std::cout << "backpressure: 2000 items in order, at most 64 queued, paused at 64 and resumed at 16\n";
}
