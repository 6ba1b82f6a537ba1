#include "blocking_pool.hpp"

#include <pthread.h>
#include <signal.h>

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <weft/detail/bridge_call.hpp>
#include <weft/detail/deadline_after.hpp>
#include <weft/error.hpp>

#include "cpu_affinity.hpp"

namespace weft::detail {

struct BlockingPool::Shared : std::enable_shared_from_this<Shared> {
    Shared(std::string name, unsigned max_threads, std::chrono::milliseconds keep_alive, std::vector<int> cpus)
        : thread_name((name + "-blk").substr(0, 15)),
          max_threads(max_threads),
          keep_alive(keep_alive),
          cpus(std::move(cpus)) {}

    void push(BridgeCall* call) noexcept;
    BridgeCall* pop() noexcept;
    void spawn_thread();  // with the lock held
    void thread_main(std::uint64_t id);
    bool wait_for_work(std::unique_lock<std::mutex>& lock);  // false: retire
    void leave(std::uint64_t id) noexcept;                     // with the lock held

    const std::string thread_name;
    const unsigned max_threads;
    const std::chrono::milliseconds keep_alive;
    const std::vector<int> cpus;

    mutable std::mutex mutex;
    std::condition_variable work_cv;  // idle threads wait here
    std::condition_variable exit_cv;  // release_threads() waits here for threads to leave
    BridgeCall* head = nullptr;
    BridgeCall* tail = nullptr;
    unsigned threads = 0;   // alive (counted from spawn to leave)
    unsigned idle = 0;      // waiting for work and not yet handed a notification
    unsigned notified = 0;  // notifications handed out and not yet taken by a thread
    unsigned busy = 0;      // inside BridgeCall::execute
    unsigned queued = 0;    // calls in the list (metrics)
    std::uint64_t calls = 0;  // submitted (metrics)
    bool closed = false;
    std::uint64_t next_id = 0;
    std::unordered_map<std::uint64_t, std::thread> handles;  // threads that have not left
    std::vector<std::thread> exited;                          // left, not joined yet
};

void BlockingPool::Shared::push(BridgeCall* call) noexcept {
    call->queue_next = nullptr;
    if (tail) {
        tail->queue_next = call;
    } else {
        head = call;
    }
    tail = call;
    ++queued;
}

BridgeCall* BlockingPool::Shared::pop() noexcept {
    BridgeCall* call = head;
    if (call) {
        head = call->queue_next;
        if (!head) tail = nullptr;
        call->queue_next = nullptr;
        --queued;
    }
    return call;
}

void BlockingPool::Shared::spawn_thread() {
    std::uint64_t id = next_id++;
    std::thread thread([self = shared_from_this(), id] { self->thread_main(id); });
    handles.emplace(id, std::move(thread));
    ++threads;
}

void BlockingPool::Shared::thread_main(std::uint64_t id) {
    ::pthread_setname_np(::pthread_self(), thread_name.c_str());
    // A write to a pipe whose reader has gone (fs::write_file into a FIFO, AsyncFile on
    // /dev/stdout | head, a user's offloaded write) must be EPIPE, as for Python, which
    // ignores SIGPIPE: unblocked here, the signal killed the whole process. (A SIGPIPE the
    // write raises is directed at this thread, so it stays pending here, harmless.)
    sigset_t sigpipe;
    sigemptyset(&sigpipe);
    sigaddset(&sigpipe, SIGPIPE);
    ::pthread_sigmask(SIG_BLOCK, &sigpipe, nullptr);
    if (!cpus.empty() && !restrict_this_thread(cpus))
        spdlog::warn("weft: {} cannot leave its starter's CPU; it runs there", thread_name);
    std::unique_lock lock(mutex);
    for (;;) {
        if (BridgeCall* call = pop()) {
            ++busy;
            lock.unlock();
            call->execute();  // noexcept: the callable's exceptions are part of its outcome
            lock.lock();
            --busy;
            continue;
        }
        if (closed || !wait_for_work(lock)) break;
    }
    leave(id);
}

bool BlockingPool::Shared::wait_for_work(std::unique_lock<std::mutex>& lock) {
    ++idle;
    const auto deadline = detail::deadline_after(std::chrono::steady_clock::now(), keep_alive);
    for (;;) {
        bool timed_out = work_cv.wait_until(lock, deadline) == std::cv_status::timeout;
        if (notified > 0) {  // the submitter already took one thread off `idle`: us
            --notified;
            return true;
        }
        if (closed || timed_out) {
            --idle;
            return false;
        }
        // spurious wake-up, or another thread took the notification: wait on
    }
}

void BlockingPool::Shared::leave(std::uint64_t id) noexcept {
    --threads;
    auto it = handles.find(id);
    if (it != handles.end()) {
        exited.push_back(std::move(it->second));  // joinable unless detached at shutdown
        handles.erase(it);
    }
    exit_cv.notify_all();
}

BlockingPool::BlockingPool(std::string name, unsigned max_threads, std::chrono::milliseconds keep_alive,
                           std::vector<int> cpus)
    : shared_(
          std::make_shared<Shared>(std::move(name), max_threads == 0 ? 1 : max_threads, keep_alive, std::move(cpus))) {}

BlockingPool::~BlockingPool() {
    // The bridge closes and releases first; this covers a pool that never got there.
    for (BridgeCall* call = close(); call;) {
        BridgeCall* next = call->queue_next;
        call->execute();  // abandoned by the bridge before, so it is skipped
        call = next;
    }
    release_threads();
}

void BlockingPool::submit(BridgeCall* call) {
    std::vector<std::thread> to_join;
    {
        std::lock_guard lock(shared_->mutex);
        if (shared_->closed) throw RuntimeShutDown("weft::offload: the runtime is shutting down");
        ++shared_->calls;
        if (shared_->idle > 0) {
            --shared_->idle;
            ++shared_->notified;
            shared_->push(call);
            shared_->work_cv.notify_one();
            return;
        }
        if (shared_->threads < shared_->max_threads) {
            try {
                shared_->spawn_thread();
            } catch (const std::system_error& e) {
                if (shared_->threads == 0)
                    throw Error(std::string("weft::offload: cannot start a blocking-pool thread: ") + e.what());
                spdlog::warn("weft: blocking pool cannot start thread {} ({}); the call waits in the queue",
                             shared_->threads + 1, e.what());
            }
            to_join.swap(shared_->exited);  // reap retired threads while we are here
        }
        shared_->push(call);
    }
    for (auto& thread : to_join)
        if (thread.joinable()) thread.join();
}

BridgeCall* BlockingPool::close() noexcept {
    std::lock_guard lock(shared_->mutex);
    shared_->closed = true;
    BridgeCall* queued = shared_->head;
    shared_->head = shared_->tail = nullptr;
    shared_->queued = 0;
    shared_->work_cv.notify_all();
    return queued;
}

void BlockingPool::release_threads() noexcept {
    std::vector<std::thread> to_join;
    {
        std::unique_lock lock(shared_->mutex);
        // Closed and the queue is empty: every thread not inside a call is on its way out.
        shared_->exit_cv.wait(lock, [&] { return shared_->threads == shared_->busy; });
        to_join.swap(shared_->exited);
        for (auto& [id, thread] : shared_->handles)
            if (thread.joinable()) thread.detach();  // stuck in a call: it leaves when that returns
    }
    for (auto& thread : to_join)
        if (thread.joinable()) thread.join();
}

BlockingPool::Stats BlockingPool::stats() const {
    std::lock_guard lock(shared_->mutex);
    return Stats{shared_->threads, shared_->idle, shared_->busy, shared_->queued, shared_->max_threads, shared_->calls};
}

}  // namespace weft::detail
