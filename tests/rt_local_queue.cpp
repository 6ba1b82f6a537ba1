// LocalQueue, the split work-stealing deque: which tasks are stealable when, and that under
// concurrent stealing every task is taken exactly once.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <weft/detail/local_queue.hpp>
#include "support/scaled.hpp"

using weft::detail::LocalQueue;
using weft::detail::TaskHeader;
using Push = LocalQueue::Push;
using Steal = LocalQueue::StealResult;

namespace {

TaskHeader* steal(LocalQueue& queue) {
    TaskHeader* task = nullptr;
    for (;;) {
        Steal result = queue.steal_one(task);
        if (result == Steal::kTaken) return task;
        if (result == Steal::kEmpty) return nullptr;
    }
}

// Pushes tasks[0..count) into an empty queue with no worker idle: the first becomes
// stealable, the rest stay private (as the first test case shows step by step).
void push_first_public_rest_private(LocalQueue& queue, TaskHeader* tasks, int count) {
    REQUIRE(queue.push(&tasks[0], false) == Push::kPublished);
    for (int i = 1; i < count; ++i) REQUIRE(queue.push(&tasks[i], false) == Push::kPrivate);
}

}  // namespace

TEST_CASE("local queue: the first task into an empty queue is stealable, later ones private",
          "[scheduler][local_queue]") {
    LocalQueue queue;
    auto tasks = std::make_unique<TaskHeader[]>(4);
    REQUIRE(queue.push(&tasks[0], false) == Push::kPublished);
    REQUIRE(queue.push(&tasks[1], false) == Push::kPrivate);
    REQUIRE(queue.push(&tasks[2], false) == Push::kPrivate);
    REQUIRE(queue.size() == 1);
    REQUIRE_FALSE(queue.owner_empty());

    // The owner pops newest first; a thief gets only the published oldest.
    REQUIRE(queue.pop() == &tasks[2]);
    REQUIRE(steal(queue) == &tasks[0]);
    REQUIRE(steal(queue) == nullptr);
    REQUIRE(queue.pop() == &tasks[1]);
    REQUIRE(queue.pop() == nullptr);
    REQUIRE(queue.owner_empty());
}

TEST_CASE("local queue: a thief that finds nothing public gets the older half published", "[scheduler][local_queue]") {
    LocalQueue queue;
    auto tasks = std::make_unique<TaskHeader[]>(8);
    push_first_public_rest_private(queue, tasks.get(), 5);
    REQUIRE(steal(queue) == &tasks[0]);

    REQUIRE_FALSE(queue.split_requested());
    REQUIRE(steal(queue) == nullptr);  // tasks 1..4 are private: it asks for some
    REQUIRE(queue.split_requested());
    REQUIRE(queue.publish_requested());
    REQUIRE_FALSE(queue.split_requested());
    REQUIRE(queue.size() == 2);
    REQUIRE(steal(queue) == &tasks[1]);
    REQUIRE(steal(queue) == &tasks[2]);
    REQUIRE(queue.pop() == &tasks[4]);
    REQUIRE(queue.pop() == &tasks[3]);
    REQUIRE(queue.pop() == nullptr);
}

TEST_CASE("local queue: with a worker idle every push is published, and a full queue refuses",
          "[scheduler][local_queue]") {
    LocalQueue queue;
    auto tasks = std::make_unique<TaskHeader[]>(LocalQueue::kCapacity + 1);
    for (std::int64_t i = 0; i < LocalQueue::kCapacity; ++i) REQUIRE(queue.push(&tasks[i], true) == Push::kPublished);
    REQUIRE(queue.size() == LocalQueue::kCapacity);
    REQUIRE(queue.push(&tasks[LocalQueue::kCapacity], true) == Push::kFull);
    REQUIRE(steal(queue) == &tasks[0]);
    REQUIRE(queue.push(&tasks[LocalQueue::kCapacity], false) == Push::kPrivate);
    REQUIRE(queue.pop() == &tasks[LocalQueue::kCapacity]);
    for (std::int64_t i = LocalQueue::kCapacity - 1; i >= 1; --i) REQUIRE(queue.pop() == &tasks[i]);
    REQUIRE(queue.pop() == nullptr);
}

TEST_CASE("local queue: publish_all makes private tasks stealable", "[scheduler][local_queue]") {
    LocalQueue queue;
    auto tasks = std::make_unique<TaskHeader[]>(3);
    for (int i = 0; i < 3; ++i) queue.push(&tasks[i], false);
    REQUIRE(queue.size() == 1);
    queue.publish_all();
    REQUIRE(queue.size() == 3);
    for (int i = 0; i < 3; ++i) REQUIRE(steal(queue) == &tasks[i]);
    REQUIRE(queue.owner_empty());
}

TEST_CASE("local queue: the inline push stays private only while push() would", "[scheduler][local_queue]") {
    LocalQueue queue;
    const std::int64_t capacity = LocalQueue::kCapacity;
    auto tasks = std::make_unique<TaskHeader[]>(static_cast<std::size_t>(2 * capacity));
    std::size_t next = 0;
    auto task = [&] { return &tasks[next++]; };
    // What a worker does when the inline push refuses a spawn: the full push, then it lets
    // the next spawns go private again (unless `idle`).
    auto full = [&](TaskHeader* t, bool idle) {
        Push pushed = queue.push(t, idle);
        queue.allow_private_pushes(idle);
        return pushed;
    };

    REQUIRE_FALSE(queue.try_push_private(task()));  // nothing decided yet: the full push first
    --next;
    REQUIRE(full(task(), false) == Push::kPublished);  // the first is stealable
    REQUIRE(queue.try_push_private(task()));
    REQUIRE(queue.try_push_private(task()));
    REQUIRE(queue.size() == 1);

    // A thief takes the last public task: the next push must publish again.
    REQUIRE(steal(queue) == &tasks[0]);
    REQUIRE_FALSE(queue.try_push_private(task()));
    --next;
    REQUIRE(full(task(), false) == Push::kPublished);
    REQUIRE(queue.size() == 2);  // the older half of tasks 1..3
    REQUIRE(queue.try_push_private(task()));

    // A thief that finds the public part empty asks for more.
    REQUIRE(steal(queue) == &tasks[1]);
    REQUIRE(steal(queue) == &tasks[2]);
    REQUIRE(steal(queue) == nullptr);
    REQUIRE(queue.split_requested());
    REQUIRE_FALSE(queue.try_push_private(task()));
    --next;
    REQUIRE(full(task(), false) == Push::kPublished);

    // A worker went idle (or the runtime stops): every push publishes until none is idle.
    queue.publish_on_next_push();
    REQUIRE_FALSE(queue.try_push_private(task()));
    --next;
    REQUIRE(full(task(), true) == Push::kPublished);
    REQUIRE_FALSE(queue.try_push_private(task()));
    --next;
    REQUIRE(full(task(), false) == Push::kPrivate);
    REQUIRE(queue.try_push_private(task()));

    // The owner's own take of public tasks may empty the public part: publish again.
    while (queue.pop() != nullptr) {
    }
    REQUIRE_FALSE(queue.try_push_private(task()));
    --next;

    // The inline push never overfills the ring.
    REQUIRE(full(task(), false) == Push::kPublished);
    std::int64_t held = 1;
    while (queue.try_push_private(task())) ++held;
    --next;
    CAPTURE(held);
    REQUIRE(held <= capacity);
    while (full(task(), false) != Push::kFull) ++held;
    REQUIRE(held == capacity);
}

TEST_CASE("local queue: the owner takes a private task from anywhere, the newest fills its place",
          "[scheduler][local_queue]") {
    LocalQueue queue;
    auto tasks = std::make_unique<TaskHeader[]>(6);
    push_first_public_rest_private(queue, tasks.get(), 6);

    REQUIRE_FALSE(queue.take_private(&tasks[0]));  // public: the thieves may have it
    REQUIRE(queue.take_private(&tasks[2]));        // a join takes its oldest child first
    REQUIRE_FALSE(queue.take_private(&tasks[2]));  // once
    REQUIRE(queue.take_private(&tasks[5]));        // the newest
    REQUIRE(queue.take_private(&tasks[3]));
    // Left: 1 and 4, no holes; a publish makes the older half stealable.
    REQUIRE(steal(queue) == &tasks[0]);
    REQUIRE(steal(queue) == nullptr);
    REQUIRE(queue.publish_requested());
    REQUIRE(queue.size() == 1);  // half of two tasks (holes would have counted)
    REQUIRE(steal(queue) == &tasks[1]);
    REQUIRE(queue.pop() == &tasks[4]);
    REQUIRE(queue.pop() == nullptr);
    REQUIRE(queue.owner_empty());
}

// The owner pushes, pops and takes tasks out of the middle at random (publishing when
// asked, as a worker does) while thieves steal; every task must be taken exactly once, by
// the owner or by one thief.
TEST_CASE("local queue: concurrent owner and thieves take every task exactly once", "[scheduler][local_queue]") {
    const int total = test::scaled(400'000, 40'000);
    const int thieves = 3;
    auto tasks = std::make_unique<TaskHeader[]>(static_cast<std::size_t>(total));
    std::vector<std::atomic<int>> taken(static_cast<std::size_t>(total));
    auto index_of = [&](TaskHeader* task) { return static_cast<std::size_t>(task - tasks.get()); };
    auto take = [&](TaskHeader* task) { taken[index_of(task)].fetch_add(1, std::memory_order_relaxed); };

    LocalQueue queue;
    std::atomic<bool> done{false};
    std::vector<std::thread> threads;
    std::vector<int> stolen(thieves, 0);
    for (int t = 0; t < thieves; ++t) {
        threads.emplace_back([&, t] {
            for (;;) {
                bool finished = done.load(std::memory_order_acquire);
                TaskHeader* task = nullptr;
                Steal result = queue.steal_one(task);
                if (result == Steal::kTaken) {
                    take(task);
                    ++stolen[static_cast<std::size_t>(t)];
                } else if (result == Steal::kEmpty) {
                    if (finished) return;
                    std::this_thread::yield();
                }
            }
        });
    }

    std::mt19937 rng(12345);
    int next = 0;
    int popped = 0;
    while (next < total) {
        if (queue.split_requested()) queue.publish_requested();
        int pushes = static_cast<int>(rng() % 8) + 1;
        bool publish = rng() % 4 == 0;  // now and then a worker is idle
        for (int i = 0; i < pushes && next < total; ++i) {
            TaskHeader* task = &tasks[static_cast<std::size_t>(next)];
            // As a worker does: the inline push when nothing asks for a publish, else push().
            if (publish || !queue.try_push_private(task)) {
                if (queue.push(task, publish) == Push::kFull) break;
                queue.allow_private_pushes(publish);
            }
            ++next;
        }
        // A join: one of the recent pushes, taken if still private (not stolen, not popped).
        if (next > 0 && rng() % 2 == 0) {
            int back = static_cast<int>(rng() % 8) % next;  // 0: the newest push
            TaskHeader* wanted = &tasks[static_cast<std::size_t>(next - 1 - back)];
            if (queue.take_private(wanted)) {
                take(wanted);
                ++popped;
            }
        }
        int pops = static_cast<int>(rng() % 8);
        for (int i = 0; i < pops; ++i) {
            if (TaskHeader* task = queue.pop()) {
                take(task);
                ++popped;
            }
        }
    }
    while (TaskHeader* task = queue.pop()) {
        take(task);
        ++popped;
    }
    done.store(true, std::memory_order_release);
    for (auto& thread : threads) thread.join();

    int stolen_total = 0;
    for (int s : stolen) stolen_total += s;
    CAPTURE(popped, stolen_total);
    REQUIRE(popped + stolen_total == total);
    int wrong = 0;
    for (auto& count : taken) wrong += count.load() != 1;
    REQUIRE(wrong == 0);
}
