// The machinery behind Queue, LifoQueue and PriorityQueue (<weft/queue.hpp>): a Storage of
// items and three waiter queues (getters, putters, joiners), all under one guard.
//
// Rules, each a single critical section:
//  - put: shut down -> QueueShutDown; a getter waits -> the item goes straight into its node
//    (it never touches the storage); room -> push; else the putter waits with its item.
//  - get: an item -> take it, then move waiting putters' items in while there is room;
//    shut down -> QueueShutDown; else the getter waits for a putter's hand-off.
//  So a getter waits only while the storage is empty and a putter only while it is full, and
//  every hand-off happens under the guard: a cancelled getter finds either its item in its node
//  (and returns it) or itself still queued (and leaves, taking nothing).
//  - "room" is the Gate's call: MaxsizeGate (Queue: size < maxsize) or BackpressureGate
//    (closes at the high mark, reopens at the low mark); it sees every push and pop.
//  - unfinished_ counts puts minus task_done()s (asyncio's join accounting); reaching zero
//    wakes every joiner. shutdown(immediate) drops the stored items, counting them as done.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>
#include <weft/error.hpp>
#include <weft/queue_errors.hpp>

namespace weft::detail {

// Queue's gate: room while size < maxsize (maxsize 0: always).
class MaxsizeGate {
public:
    explicit MaxsizeGate(std::size_t maxsize) noexcept : maxsize_(maxsize) {}
    bool admits(std::size_t size) const noexcept { return maxsize_ == 0 || size < maxsize_; }
    void pushed(std::size_t /*size*/) noexcept {}
    void popped(std::size_t /*size*/) noexcept {}
    void putter_waits() noexcept {}
    std::size_t capacity() const noexcept { return maxsize_; }

private:
    std::size_t maxsize_;
};

template <class T, class Storage, class Gate = MaxsizeGate>
class BasicQueue {
    enum Status : std::uint8_t { kDone = 1, kShutDown, kFull, kEmpty };
    struct GetterNode : WaiterNode {
        std::optional<T> item;  // filled by a putter's hand-off
    };
    struct PutterNode : WaiterNode {
        std::optional<T> item;  // taken by a getter that made room
    };

public:
    using value_type = T;

    /// `co_await queue.put(item)`; single use.
    class [[nodiscard("co_await it")]] PutAwaiter : private PutterNode {
    public:
        PutAwaiter(BasicQueue& queue, T&& item) : queue_(queue) { this->item.emplace(std::move(item)); }
        PutAwaiter& operator co_await() && noexcept { return *this; }

        bool await_ready() {
            SpinGuard locked(queue_.guard_);
            Status status = queue_.try_put_locked(*this->item);
            if (status == kFull) return false;
            complete_now(*this, status);
            return true;
        }
        bool await_suspend(std::coroutine_handle<> awaiting) {
            return suspend_waiter(*this, "weft queue put()", awaiting, [this] {
                SpinGuard locked(queue_.guard_);
                Status status = queue_.try_put_locked(*this->item);
                if (status != kFull) {
                    complete_now(*this, status);
                    return false;
                }
                queue_.gate_.putter_waits();
                enqueue(queue_.putters_, *this);
                return true;
            });
        }
        void await_resume() {
            if (!settle_wait(*this, queue_.guard_, [this] { queue_.putters_.remove(this); })) throw_cancelled();
            if (this->outcome == kShutDown) throw QueueShutDown();
        }

    private:
        BasicQueue& queue_;
    };

    /// `T item = co_await queue.get()`; single use.
    class [[nodiscard("co_await it")]] GetAwaiter : private GetterNode {
    public:
        explicit GetAwaiter(BasicQueue& queue) noexcept : queue_(queue) {}
        GetAwaiter& operator co_await() && noexcept { return *this; }

        bool await_ready() {
            SpinGuard locked(queue_.guard_);
            Status status = queue_.try_get_locked(this->item);
            if (status == kEmpty) return false;
            complete_now(*this, status);
            return true;
        }
        bool await_suspend(std::coroutine_handle<> awaiting) {
            return suspend_waiter(*this, "weft queue get()", awaiting, [this] {
                SpinGuard locked(queue_.guard_);
                Status status = queue_.try_get_locked(this->item);
                if (status != kEmpty) {
                    complete_now(*this, status);
                    return false;
                }
                enqueue(queue_.getters_, *this);
                return true;
            });
        }
        T await_resume() {
            if (!settle_wait(*this, queue_.guard_, [this] { queue_.getters_.remove(this); })) throw_cancelled();
            if (this->outcome == kShutDown) throw QueueShutDown();
            return std::move(*this->item);
        }

    private:
        BasicQueue& queue_;
    };

    /// `co_await queue.join()`; single use.
    class [[nodiscard("co_await it")]] JoinAwaiter : private WaiterNode {
    public:
        explicit JoinAwaiter(BasicQueue& queue) noexcept : queue_(queue) {}
        JoinAwaiter& operator co_await() && noexcept { return *this; }

        bool await_ready() {
            SpinGuard locked(queue_.guard_);
            if (queue_.unfinished_ != 0) return false;
            complete_now(*this, kDone);
            return true;
        }
        bool await_suspend(std::coroutine_handle<> awaiting) {
            return suspend_waiter(*this, "weft queue join()", awaiting, [this] {
                SpinGuard locked(queue_.guard_);
                if (queue_.unfinished_ == 0) {
                    complete_now(*this, kDone);
                    return false;
                }
                enqueue(queue_.joiners_, *this);
                return true;
            });
        }
        void await_resume() {
            if (!settle_wait(*this, queue_.guard_, [this] { queue_.joiners_.remove(this); })) throw_cancelled();
        }

    private:
        BasicQueue& queue_;
    };

    /// maxsize 0: unbounded.
    explicit BasicQueue(std::size_t maxsize = 0) : BasicQueue(Gate(maxsize), maxsize) {}
    BasicQueue(Gate gate, std::size_t reserve) : items_(reserve), gate_(std::move(gate)) {}
    BasicQueue(const BasicQueue&) = delete;
    BasicQueue& operator=(const BasicQueue&) = delete;

    /// Waits while the queue is full, then adds `item`. QueueShutDown after shutdown().
    PutAwaiter put(T item) { return PutAwaiter(*this, std::move(item)); }
    /// Waits while the queue is empty, then removes and returns an item. QueueShutDown once
    /// the queue is shut down and empty.
    GetAwaiter get() noexcept { return GetAwaiter(*this); }
    /// Waits until every item put has been matched by a task_done().
    JoinAwaiter join() noexcept { return JoinAwaiter(*this); }

    /// Adds `item` without waiting: QueueFull, or QueueShutDown.
    void put_nowait(T item) {
        SpinGuard locked(guard_);
        Status status = try_put_locked(item);
        if (status == kShutDown) throw QueueShutDown();
        if (status == kFull) throw QueueFull();
    }
    /// Removes an item without waiting: QueueEmpty, or QueueShutDown (shut down and empty).
    T get_nowait() {
        std::optional<T> item;
        Status status;
        {
            SpinGuard locked(guard_);
            status = try_get_locked(item);
        }
        if (status == kShutDown) throw QueueShutDown();
        if (status == kEmpty) throw QueueEmpty();
        return std::move(*item);
    }

    /// One item taken from the queue has been processed. UsageError if called more times than
    /// items were put.
    void task_done() {
        SpinGuard locked(guard_);
        if (unfinished_ == 0) throw UsageError("weft queue: task_done() called more times than items were put");
        if (--unfinished_ == 0) wake_all_locked(joiners_, kDone);
    }

    /// Pending and future put()s throw QueueShutDown; get()s take what is left, then throw it.
    /// immediate: the items left are dropped (counted as done for join()) and get()s throw at
    /// once. Waiting tasks resume on worker loops, never inside shutdown().
    void shutdown(bool immediate = false) {
        Storage dropped;  // destroyed after the guard is released
        SpinGuard locked(guard_);
        shutdown_ = true;
        if (immediate) {
            std::size_t count = items_.size();
            items_.swap(dropped);
            gate_.popped(0);
            unfinished_ -= count < unfinished_ ? count : unfinished_;
            if (unfinished_ == 0) wake_all_locked(joiners_, kDone);
        }
        wake_all_locked(getters_, kShutDown);  // they wait only while nothing is stored
        wake_all_locked(putters_, kShutDown);
    }

    std::size_t qsize() const noexcept {
        SpinGuard locked(guard_);
        return items_.size();
    }
    bool empty() const noexcept { return qsize() == 0; }
    /// Whether a put() would wait now.
    bool full() const noexcept {
        SpinGuard locked(guard_);
        return !gate_.admits(items_.size());
    }
    /// The bound given at construction (0: unbounded).
    std::size_t maxsize() const noexcept { return gate_.capacity(); }
    bool is_shut_down() const noexcept {
        SpinGuard locked(guard_);
        return shutdown_;
    }
    /// Items put and not yet matched by task_done().
    std::size_t unfinished_tasks() const noexcept {
        SpinGuard locked(guard_);
        return unfinished_;
    }

protected:
    // Runs `fn(gate)` under the guard (for the derived queues' accessors).
    template <class Fn>
    decltype(auto) with_gate(Fn&& fn) const {
        SpinGuard locked(guard_);
        return fn(gate_);
    }

private:
    friend struct SyncAccess;

    // Moves from `item` only when it returns kDone.
    Status try_put_locked(T& item) {
        if (shutdown_) return kShutDown;
        if (WaiterNode* node = getters_.pop_front()) {
            auto* getter = static_cast<GetterNode*>(node);
            getter->item.emplace(std::move(item));
            ++unfinished_;
            wake_waiter(getter, kDone);
            return kDone;
        }
        if (!gate_.admits(items_.size())) return kFull;
        push_locked(std::move(item));
        return kDone;
    }

    Status try_get_locked(std::optional<T>& out) {
        if (items_.empty()) return shutdown_ ? kShutDown : kEmpty;
        out.emplace(items_.pop());
        gate_.popped(items_.size());
        // Room again: admit waiting putters, oldest first.
        while (!putters_.empty() && gate_.admits(items_.size())) {
            auto* putter = static_cast<PutterNode*>(putters_.pop_front());
            push_locked(std::move(*putter->item));
            wake_waiter(putter, kDone);
        }
        return kDone;
    }

    void push_locked(T&& item) {
        items_.push(std::move(item));
        ++unfinished_;
        gate_.pushed(items_.size());
    }

    static void wake_all_locked(WaiterQueue& queue, std::uint8_t outcome) noexcept {
        while (WaiterNode* node = queue.pop_front()) wake_waiter(node, outcome);
    }
    std::size_t waiter_count_locked() const noexcept { return getters_.size() + putters_.size() + joiners_.size(); }

    mutable SpinLock guard_;
    Storage items_;
    Gate gate_;
    std::size_t unfinished_ = 0;
    bool shutdown_ = false;
    WaiterQueue getters_;
    WaiterQueue putters_;
    WaiterQueue joiners_;
};

}  // namespace weft::detail
