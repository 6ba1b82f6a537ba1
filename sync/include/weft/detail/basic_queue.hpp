// The machinery behind Queue, LifoQueue, PriorityQueue and BackpressureQueue: a Storage
// (queue_storage.hpp), three waiter queues (getters, putters, joiners) under one guard, and a
// flags word that tells the lock-free fast paths when they must take the guard.
//
// The rules (asyncio's, made exact under concurrency):
//  - put: shut down -> QueueShutDown; tasks wait in get() -> the item goes to the oldest;
//    room -> store it; else wait with the item in the node.
//  - get: an item -> take it, then move waiting putters' items in while there is room; shut
//    down -> QueueShutDown; else wait for a hand-off.
//  Every hand-off to or from a node happens under the guard, so a cancelled waiter finds either
//  its outcome in its node (and keeps it) or itself still queued (and leaves with nothing).
//  - join(): puts minus task_done()s (dropped items count as done) reaching zero wakes every
//    joiner. Puts are counted by the storage (pushes()) plus direct hand-offs, both monotonic,
//    so no counter is touched on the fast path.
//
// Fast paths (lock-free storage only: the bounded FIFO Queue). Protocol against lost wake-ups:
//  1. put_fast: if the flags say nobody waits in get() and the queue is open, try_push; after
//     a push, load the flags again (seq_cst): a getter that registered meanwhile is fed under
//     the guard (feed_getters).
//  2. A getter that finds the storage empty takes the guard, sets kGetters (seq_cst RMW) and
//     tries the storage once more before it links itself. MpmcRing's claims are seq_cst and its
//     "empty" verdict follows a seq_cst fence, so either that retry sees the pushed item or the
//     pusher's second flags load sees kGetters.
//  3. Symmetrically, get_fast loads the flags after a pop and admits waiting putters
//     (admit_putters), and a putter sets kPutters before its last try_push.
//  Flags are set and cleared only under the guard; a stale "someone waits" only costs a trip
//  through the guard.
// With locked storage (every other queue) both fast paths decline and everything runs under
// the guard.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/lifetimebound.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/sync_access.hpp>
#include <weft/detail/waiter_queue.hpp>
#include <weft/error.hpp>
#include <weft/queue_errors.hpp>

namespace weft::detail {

// No flow control beyond the storage's own bound.
struct NoGate {
    static constexpr bool admits(std::size_t /*size*/) noexcept { return true; }
    static constexpr void pushed(std::size_t /*size*/) noexcept {}
    static constexpr void popped(std::size_t /*size*/) noexcept {}
    static constexpr void putter_waits() noexcept {}
};

template <class T, class Storage, class Gate = NoGate>
class BasicQueue {
    enum Status : std::uint8_t { kDone = 1, kShutDown, kFull, kEmpty, kCancelled };
    static constexpr std::uint32_t kGetters = 1;    // getters_ not empty
    static constexpr std::uint32_t kPutters = 2;    // putters_ not empty
    static constexpr std::uint32_t kJoiners = 4;    // joiners_ not empty
    static constexpr std::uint32_t kShutdown = 8;   // shutdown() was called
    static constexpr std::uint32_t kDropping = 16;  // shutdown(immediate=true) was called

    // A waiting getter's (putter's) node points at the item slot in its awaiter, so the
    // node need not exist until the awaiter really suspends.
    struct GetterNode : WaiterNode {
        std::optional<T>* item;  // filled by a hand-off
        explicit GetterNode(std::optional<T>* into) noexcept : item(into) {}
    };
    struct PutterNode : WaiterNode {
        T* item;  // moved from when a get makes room
        explicit PutterNode(T* from) noexcept : item(from) {}
    };

    // An awaiter's node, constructed only on the way to suspending: the fast path (most
    // puts and gets) then writes two bytes of awaiter state instead of a whole node.
    template <class Node>
    class LazyNode {
    public:
        LazyNode() noexcept {}
        ~LazyNode() {
            if (live_) std::destroy_at(get());
        }
        LazyNode(const LazyNode&) = delete;
        LazyNode& operator=(const LazyNode&) = delete;
        template <class... Args>
        Node& emplace(Args&&... args) noexcept {
            live_ = true;
            return *std::construct_at(get(), std::forward<Args>(args)...);
        }
        bool live() const noexcept { return live_; }
        Node* get() noexcept { return std::launder(reinterpret_cast<Node*>(bytes_)); }

    private:
        alignas(Node) unsigned char bytes_[sizeof(Node)];
        bool live_ = false;
    };

public:
    using value_type = T;

    /// `co_await queue.put(item)`; single use.
    class [[nodiscard("co_await it")]] PutAwaiter {
    public:
        PutAwaiter(BasicQueue& queue, T&& item) : queue_(queue), item_(std::move(item)) {}
        PutAwaiter(const PutAwaiter&) = delete;
        PutAwaiter& operator=(const PutAwaiter&) = delete;
        // Only before it is awaited (into wait_for's frame).
        PutAwaiter(PutAwaiter&& other) : queue_(unstarted(other).queue_), item_(std::move(other.item_)) {}

        bool await_ready() {
            Fast fast = queue_.put_fast(item_);
            if (fast == Fast::would_wait) return false;  // full: await_suspend decides under the guard
            if (fast == Fast::locked) {
                SpinGuard locked(queue_.guard_);
                Status status = queue_.put_locked(item_);
                if (status == kFull) return false;
                outcome_ = status;
                return coop_spend();
            }
            outcome_ = kDone;
            return coop_spend();
        }
        bool await_suspend(std::coroutine_handle<> awaiting) {
            if (outcome_ != 0) {  // done in await_ready, but the budget is spent
                coop_yield_suspend(awaiting);
                return true;
            }
            PutterNode& node = node_.emplace(&item_);
            return suspend_or_try(
                node, "weft queue put()", awaiting,
                [this, &node](bool may_wait) { return queue_.enqueue_putter(node, may_wait); }, &queue_);
        }
        void await_resume() {
            if (outcome_ == kDone) return;  // the fast path
            resume_slow();
        }

    private:
        template <class Awaiter>
        static Awaiter& unstarted(Awaiter& awaiter) {
            if (awaiter.outcome_ != 0 || awaiter.node_.live()) [[unlikely]]
                WaiterNode::throw_moved_awaiter();
            return awaiter;
        }

        [[gnu::noinline]] void resume_slow() {
            if (node_.live()) {
                PutterNode& node = *node_.get();
                if (!completed(node) && !settle_wait(node, queue_.guard_, [this, &node] {
                        queue_.unlink(queue_.putters_, kPutters, &node);
                    }))
                    throw_cancelled();
                outcome_ = node.outcome;
                if (outcome_ == kCancelled) throw_cancelled();  // passed over by admit_putters
            }
            if (outcome_ == kShutDown) throw QueueShutDown();
        }

        BasicQueue& queue_;
        T item_;
        std::uint8_t outcome_ = 0;  // set without a node: by await_ready
        LazyNode<PutterNode> node_;
    };

    /// `T item = co_await queue.get()`; single use.
    class [[nodiscard("co_await it")]] GetAwaiter {
    public:
        explicit GetAwaiter(BasicQueue& queue) noexcept : queue_(queue) {}
        GetAwaiter(const GetAwaiter&) = delete;
        GetAwaiter& operator=(const GetAwaiter&) = delete;
        // Only before it is awaited (into wait_for's frame).
        GetAwaiter(GetAwaiter&& other) : queue_(unstarted(other).queue_) {}

        bool await_ready() {
            Fast fast = queue_.get_fast(item_);
            if (fast == Fast::would_wait) return false;  // empty: await_suspend decides under the guard
            if (fast == Fast::locked) {
                SpinGuard locked(queue_.guard_);
                Status status = queue_.get_locked(item_);
                if (status == kEmpty) return false;
                outcome_ = status;
                return coop_spend();
            }
            outcome_ = kDone;
            return coop_spend();
        }
        bool await_suspend(std::coroutine_handle<> awaiting) {
            if (outcome_ != 0) {  // done in await_ready, but the budget is spent
                coop_yield_suspend(awaiting);
                return true;
            }
            GetterNode& node = node_.emplace(&item_);
            return suspend_or_try(
                node, "weft queue get()", awaiting,
                [this, &node](bool may_wait) { return queue_.enqueue_getter(node, may_wait); }, &queue_);
        }
        T await_resume() {
            if (outcome_ != kDone) resume_slow();
            return std::move(*item_);
        }

    private:
        template <class Awaiter>
        static Awaiter& unstarted(Awaiter& awaiter) {
            if (awaiter.outcome_ != 0 || awaiter.node_.live()) [[unlikely]]
                WaiterNode::throw_moved_awaiter();
            return awaiter;
        }

        [[gnu::noinline]] void resume_slow() {
            if (node_.live()) {
                GetterNode& node = *node_.get();
                if (!completed(node) && !settle_wait(node, queue_.guard_, [this, &node] {
                        queue_.unlink(queue_.getters_, kGetters, &node);
                    }))
                    throw_cancelled();
                // Handed an item, then cancelled before it ran: the item goes on (asyncio's rule).
                if (node.linked && node.outcome == kDone && cancel_pending(node.waker.task) && queue_.give_back(item_))
                    throw_cancelled();
                outcome_ = node.outcome;
            }
            if (outcome_ == kShutDown) throw QueueShutDown();
        }

        BasicQueue& queue_;
        std::optional<T> item_;
        std::uint8_t outcome_ = 0;  // set without a node: by await_ready
        LazyNode<GetterNode> node_;
    };

    /// `co_await queue.join()`; single use.
    class [[nodiscard("co_await it")]] JoinAwaiter : private WaiterNode {
    public:
        explicit JoinAwaiter(BasicQueue& queue) noexcept : queue_(queue) {}

        bool await_ready() {
            if (queue_.unfinished() != 0) return false;
            complete_now(*this, kDone);
            return true;
        }
        bool await_suspend(std::coroutine_handle<> awaiting) {
            return suspend_or_try(
                *this, "weft queue join()", awaiting,
                [this](bool may_wait) { return queue_.enqueue_joiner(*this, may_wait); }, &queue_);
        }
        void await_resume() {
            if (!settle_wait(*this, queue_.guard_, [this] { queue_.unlink(queue_.joiners_, kJoiners, this); }))
                throw_cancelled();
        }

    private:
        BasicQueue& queue_;
    };

    /// maxsize 0: unbounded.
    explicit BasicQueue(std::size_t maxsize = 0) : items_(maxsize) {}
    BasicQueue(Gate gate, std::size_t maxsize) : items_(maxsize), gate_(std::move(gate)) {}
    BasicQueue(const BasicQueue&) = delete;
    BasicQueue& operator=(const BasicQueue&) = delete;

    /// Waits while the queue is full, then adds `item`. QueueShutDown after shutdown().
    PutAwaiter put(T item) WEFT_LIFETIMEBOUND { return PutAwaiter(*this, std::move(item)); }
    /// Waits while the queue is empty, then removes and returns an item. QueueShutDown once
    /// the queue is shut down and empty.
    GetAwaiter get() noexcept WEFT_LIFETIMEBOUND { return GetAwaiter(*this); }
    /// Waits until every item put has been matched by a task_done().
    JoinAwaiter join() noexcept WEFT_LIFETIMEBOUND { return JoinAwaiter(*this); }

    /// Adds `item` without waiting: QueueFull, or QueueShutDown.
    void put_nowait(T item) {
        if (put_fast(item) == Fast::done) return;
        SpinGuard locked(guard_);
        Status status = put_locked(item);
        if (status == kShutDown) throw QueueShutDown();
        if (status == kFull) throw QueueFull();
    }
    /// Removes an item without waiting: QueueEmpty, or QueueShutDown (shut down and empty).
    T get_nowait() {
        std::optional<T> item;
        if (get_fast(item) != Fast::done) {
            Status status;
            {
                SpinGuard locked(guard_);
                status = get_locked(item);
            }
            if (status == kShutDown) throw QueueShutDown();
            if (status == kEmpty) throw QueueEmpty();
        }
        return std::move(*item);
    }

    /// One item taken from the queue has been processed. UsageError if called more times than
    /// items were put.
    void task_done() {
        std::uint64_t done = done_.fetch_add(1, memory_order_seq_cst) + 1;
        std::uint64_t puts = puts_total();
        if (done > puts) {
            done_.fetch_sub(1, memory_order_seq_cst);
            throw UsageError("weft queue: task_done() called more times than items were put");
        }
        if (done == puts && (flags_.load(memory_order_seq_cst) & kJoiners)) {
            SpinGuard locked(guard_);
            wake_joiners_if_finished_locked();
        }
    }

    /// Pending and future put()s throw QueueShutDown; get()s take what is left, then throw it.
    /// immediate: the items left are dropped (counted as done for join()) and get()s throw at
    /// once. Waiting tasks resume on worker loops, never inside shutdown(). (A put() running
    /// concurrently with shutdown() may still succeed; one that starts after it returns fails.)
    void shutdown(bool immediate = false) {
        SpinGuard locked(guard_);
        set_flag(kShutdown | (immediate ? kDropping : 0));
        if (immediate) {
            drop_all_locked();
        } else {
            feed_getters_locked();  // items stored before the shutdown still go to waiting getters
        }
        wake_all_locked(getters_, kGetters, kShutDown);
        wake_all_locked(putters_, kPutters, kShutDown);
        wake_joiners_if_finished_locked();
    }

    std::size_t qsize() const noexcept {
        if (items_.lock_free()) return items_.size();
        SpinGuard locked(guard_);
        return items_.size();
    }
    bool empty() const noexcept { return qsize() == 0; }
    /// Whether a put() would wait now.
    bool full() const noexcept {
        SpinGuard locked(guard_);
        std::size_t size = items_.size();
        return !gate_.admits(size) || (items_.capacity() != 0 && size >= items_.capacity());
    }
    /// The bound given at construction (0: unbounded).
    std::size_t maxsize() const noexcept { return items_.capacity(); }
    bool is_shut_down() const noexcept { return (flags_.load(memory_order_acquire) & kShutdown) != 0; }
    /// Items put and not yet matched by task_done().
    std::size_t unfinished_tasks() const noexcept { return static_cast<std::size_t>(unfinished()); }

protected:
    // Runs `fn(gate)` under the guard (for the derived queues' accessors).
    template <class Fn>
    decltype(auto) with_gate(Fn&& fn) const {
        SpinGuard locked(guard_);
        return fn(gate_);
    }

private:
    friend struct SyncAccess;

    // ---- fast paths (lock-free storage) -------------------------------------------------
    enum class Fast : std::uint8_t {
        done,        // completed without the guard
        would_wait,  // the storage is full (put) / empty (get): only a wait can complete it
        locked,      // waiters or a shutdown: the guarded path decides
    };

    Fast put_fast(T& item) {
        if (!items_.lock_free()) return Fast::locked;
        if (flags_.load(memory_order_acquire) & (kGetters | kShutdown)) return Fast::locked;
        if (!items_.ring_push(item)) return Fast::would_wait;
        if (flags_.load(memory_order_seq_cst) & kGetters) {  // protocol step 1
            SpinGuard locked(guard_);
            feed_getters_locked();
        }
        return Fast::done;
    }

    Fast get_fast(std::optional<T>& out) {
        if (!items_.lock_free()) return Fast::locked;
        std::uint32_t flags = flags_.load(memory_order_acquire);
        if (flags & kDropping) return Fast::locked;
        if (!items_.ring_pop(out)) return (flags & kShutdown) ? Fast::locked : Fast::would_wait;
        if (flags_.load(memory_order_seq_cst) & kPutters) {  // protocol step 3
            SpinGuard locked(guard_);
            admit_putters_locked();
        }
        return Fast::done;
    }

    // ---- under the guard ----------------------------------------------------------------
    // Moves from `item` only when it returns kDone.
    Status put_locked(T& item) {
        if (flags_.load(memory_order_relaxed) & kShutdown) return kShutDown;
        // Getters wait only while the storage is empty (an item pushed lock-free meanwhile is
        // fed to them by its own pusher), so the item goes straight to the oldest one.
        if (WaiterNode* node = getters_.pop_front()) {
            if (getters_.empty()) clear_flag(kGetters);
            auto* getter = static_cast<GetterNode*>(node);
            getter->item->emplace(std::move(item));
            handoffs_.store(handoffs_.load(memory_order_relaxed) + 1, memory_order_release);  // under the guard
            wake_waiter(getter, kDone);
            return kDone;
        }
        if (!gate_.admits(items_.size()) || !items_.try_push(item)) return kFull;
        gate_.pushed(items_.size());
        return kDone;
    }

    Status get_locked(std::optional<T>& out) {
        std::uint32_t flags = flags_.load(memory_order_relaxed);
        if (flags & kDropping) {
            drop_all_locked();  // a put that raced the immediate shutdown
            return kShutDown;
        }
        if (items_.try_pop(out)) {
            gate_.popped(items_.size());
            admit_putters_locked();
            return kDone;
        }
        return (flags & kShutdown) ? kShutDown : kEmpty;
    }

    // The enqueue_* functions complete the node now if they can; otherwise, if may_wait, they
    // link it and return true (a cancellation is pending when !may_wait: the node stays idle).
    // A getter (putter) that may wait raises its flag *before* its one attempt on the storage:
    // that attempt is the retry of protocol step 2 (3).
    bool enqueue_getter(GetterNode& node, bool may_wait) {
        SpinGuard locked(guard_);
        if (may_wait) set_flag(kGetters);
        Status status = get_locked(*node.item);
        if (status == kEmpty && may_wait) {
            enqueue(getters_, node);
            return true;
        }
        if (getters_.empty()) clear_flag(kGetters);
        if (status != kEmpty) complete_now(node, status);
        return false;
    }

    bool enqueue_putter(PutterNode& node, bool may_wait) {
        SpinGuard locked(guard_);
        if (may_wait) set_flag(kPutters);
        Status status = put_locked(*node.item);
        if (status == kFull && may_wait) {
            gate_.putter_waits();
            enqueue(putters_, node);
            return true;
        }
        if (putters_.empty()) clear_flag(kPutters);
        if (status != kFull) complete_now(node, status);
        return false;
    }

    bool enqueue_joiner(WaiterNode& node, bool may_wait) {
        SpinGuard locked(guard_);
        if (!may_wait) {
            if (unfinished() != 0) return false;
            complete_now(node, kDone);
            return false;
        }
        set_flag(kJoiners);
        if (unfinished() == 0) {
            if (joiners_.empty()) clear_flag(kJoiners);
            complete_now(node, kDone);
            return false;
        }
        enqueue(joiners_, node);
        return true;
    }

    // Stored items go to waiting getters, oldest getter first.
    void feed_getters_locked() {
        while (WaiterNode* node = getters_.front()) {
            auto* getter = static_cast<GetterNode*>(node);
            if (!items_.try_pop(*getter->item)) break;
            gate_.popped(items_.size());
            getters_.pop_front();
            wake_waiter(getter, kDone);
        }
        if (getters_.empty()) clear_flag(kGetters);
    }

    // A getter handed `item` was cancelled before it ran: the item goes to the next waiting
    // getter, else back into the storage (its put was counted already: a done count makes up
    // for the storage counting it again). False (the getter keeps it) if there is no room.
    bool give_back(std::optional<T>& item) {
        SpinGuard locked(guard_);
        if (WaiterNode* node = getters_.pop_front()) {
            if (getters_.empty()) clear_flag(kGetters);
            auto* getter = static_cast<GetterNode*>(node);
            getter->item->emplace(std::move(*item));
            item.reset();
            wake_waiter(getter, kDone);
            return true;
        }
        if (flags_.load(memory_order_relaxed) & kDropping) {  // shut down at once: dropped, done
            item.reset();
            done_.fetch_add(1, memory_order_seq_cst);
            return true;
        }
        if (!gate_.admits(items_.size()) || !items_.try_push(*item)) return false;
        gate_.pushed(items_.size());
        item.reset();
        done_.fetch_add(1, memory_order_seq_cst);
        return true;
    }

    // Waiting putters' items move in while there is room, oldest putter first. A putter whose
    // cancellation is already pending is skipped (it leaves with CancelledError, its item not
    // put): a cancel() that returned true takes effect.
    void admit_putters_locked() {
        while (WaiterNode* node = putters_.front()) {
            auto* putter = static_cast<PutterNode*>(node);
            if (cancel_pending(putter->waker.task)) [[unlikely]] {
                putters_.pop_front();
                wake_waiter(putter, kCancelled);
                continue;
            }
            if (!gate_.admits(items_.size()) || !items_.try_push(*putter->item)) break;
            gate_.pushed(items_.size());
            putters_.pop_front();
            wake_waiter(putter, kDone);
        }
        if (putters_.empty()) clear_flag(kPutters);
    }

    // shutdown(immediate): stored items are dropped and count as done (asyncio: each one
    // decrements the unfinished count while it is positive).
    void drop_all_locked() {
        std::uint64_t dropped = items_.clear();
        gate_.popped(0);
        std::uint64_t open = unfinished();
        done_.fetch_add(dropped < open ? dropped : open, memory_order_seq_cst);
    }

    void wake_joiners_if_finished_locked() {
        if (unfinished() != 0) return;
        wake_all_locked(joiners_, kJoiners, kDone);
    }

    void wake_all_locked(WaiterQueue& queue, std::uint32_t flag, std::uint8_t outcome) noexcept {
        while (WaiterNode* node = queue.pop_front()) wake_waiter(node, outcome);
        clear_flag(flag);
    }

    // A cancelled waiter leaves its queue.
    void unlink(WaiterQueue& queue, std::uint32_t flag, WaiterNode* node) noexcept {
        queue.remove(node);
        if (queue.empty()) clear_flag(flag);
    }

    // Flags change only under the guard. Setting one must be a seq_cst RMW (protocol steps
    // 2 and 3: it has to precede the retry in the single order); clearing one only makes the
    // fast paths skip a trip through the guard, so a plain store will do.
    void set_flag(std::uint32_t flag) noexcept { flags_.fetch_or(flag, memory_order_seq_cst); }
    void clear_flag(std::uint32_t flag) noexcept {
        std::uint32_t flags = flags_.load(memory_order_relaxed);
        if (flags & flag) flags_.store(flags & ~flag, memory_order_release);
    }

    std::uint64_t puts_total() const noexcept { return items_.pushes() + handoffs_.load(memory_order_seq_cst); }
    // Read done first: both counts only grow, so a zero here was true at that moment.
    std::uint64_t unfinished() const noexcept {
        std::uint64_t done = done_.load(memory_order_seq_cst);
        std::uint64_t puts = puts_total();
        return puts > done ? puts - done : 0;
    }

    std::size_t waiter_count_locked() const noexcept { return getters_.size() + putters_.size() + joiners_.size(); }

    // Groups kept on separate cache lines by padding (not alignas: a queue usually lives in a
    // coroutine frame, which is not over-aligned). flags_ is read on every put/get and
    // written only on the slow paths; the storage pads its own hot words.
    Atomic<std::uint32_t> flags_{0};
    Storage items_;
    [[no_unique_address]] Gate gate_{};
    [[maybe_unused]] char pad0_[kCacheLine];
    mutable SpinLock guard_;
    WaiterQueue getters_{guard_};
    WaiterQueue putters_{guard_};
    WaiterQueue joiners_{guard_};
    [[maybe_unused]] char pad1_[kCacheLine];
    Atomic<std::uint64_t> done_{0};      // task_done()s plus dropped items
    Atomic<std::uint64_t> handoffs_{0};  // puts that went straight to a getter
};

}  // namespace weft::detail
