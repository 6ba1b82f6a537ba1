// producer_consumer: producers put jobs into a bounded weft::Queue (put() waits while it is
// full: backpressure), consumers take them and mark each one done; the main task waits with
// join() until every job has been processed, then shuts the queue down, which ends the
// consumers' loops without any sentinel value. Prints what each producer and consumer did.
#include <weft/weft.hpp>

#include <cstdint>
#include <iostream>
#include <vector>

struct Job {
    int producer;
    std::uint64_t n;
};

struct ConsumerStats {
    std::uint64_t jobs = 0;
    std::uint64_t sum = 0;  // of n * n over its jobs
};

weft::Task<std::uint64_t> producer(weft::Queue<Job>& jobs, int id, std::uint64_t count) {
    for (std::uint64_t n = 1; n <= count; ++n) {
        co_await jobs.put(Job{id, n});  // suspends while the queue holds maxsize jobs
    }
    co_return count;
}

// readme: begin consumer
weft::Task<ConsumerStats> consumer(weft::Queue<Job>& jobs) {
    ConsumerStats stats;
    try {
        for (;;) {
            Job job = co_await jobs.get();  // suspends while the queue is empty
            stats.sum += job.n * job.n;
            ++stats.jobs;
            jobs.task_done();
        }
    } catch (const weft::QueueShutDown&) {
        // shut down and drained: this consumer is finished
    }
    co_return stats;
}
// readme: end consumer

weft::Task<std::uint64_t> pipeline(int producers, int consumers, std::uint64_t per_producer) {
    weft::Queue<Job> jobs(/*maxsize=*/16);
    std::vector<weft::JoinHandle<ConsumerStats>> workers;
    for (int c = 0; c < consumers; ++c) workers.push_back(weft::spawn(consumer(jobs), "consumer"));
    std::vector<weft::JoinHandle<std::uint64_t>> feeders;
    for (int p = 0; p < producers; ++p) feeders.push_back(weft::spawn(producer(jobs, p, per_producer), "producer"));

    for (int p = 0; p < producers; ++p) {
        std::cout << "producer " << p << ": put " << co_await feeders[p] << " jobs\n";
    }
    // readme: begin join
    co_await jobs.join();  // every job put has been task_done()
    jobs.shutdown();       // the consumers' get() now throws QueueShutDown
    // readme: end join

    std::uint64_t total_jobs = 0, total_sum = 0;
    for (int c = 0; c < consumers; ++c) {
        ConsumerStats stats = co_await workers[c];
        std::cout << "consumer " << c << ": " << stats.jobs << " jobs\n";
        total_jobs += stats.jobs;
        total_sum += stats.sum;
    }
    std::cout << "total: " << total_jobs << " jobs, sum of squares = " << total_sum << '\n';
    co_return total_sum;
}

int main() {
    const std::uint64_t per_producer = 10'000;
    std::uint64_t sum = weft::run(pipeline(3, 4, per_producer), weft::RuntimeOptions{.workers = 2});
    const std::uint64_t expected = 3 * per_producer * (per_producer + 1) * (2 * per_producer + 1) / 6;
    return sum == expected ? 0 : 1;
}
