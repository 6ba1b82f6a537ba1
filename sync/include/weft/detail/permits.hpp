// The permit core under Lock, Semaphore/BoundedSemaphore and SharedLock (the shape of Tokio's
// batch semaphore): a count of free permits in one atomic word, and a FIFO of waiters each
// asking for one permit or for all of them. A Semaphore acquire and a SharedLock reader ask for
// one; a SharedLock writer asks for all (kAll, so no reader can hold one meanwhile); a Lock is
// a core whose "all" is its one permit. One enqueue-or-acquire, one release-and-dispatch
// path, one awaiter (PermitAwaiter) and one guard (PermitGuard) serve the three.
//
// The word (see LockWord, CountWord) holds the free permits and two flags, kWaiters (the queue
// is not empty) and kHeadAll (its head asks for all), set and cleared only under guard_.
// Invariant, under guard_: while a waiter waits, the free permits do not cover its head's ask.
// So:
//  - acquire: the lock-free fast path takes permits only while kWaiters is clear, so nobody
//    barges past a waiter (FIFO); under guard_, enqueue_or_acquire takes them or links the
//    node, setting the flags in the same CAS that checked the count (no lost wake-up: a
//    release that then sees kWaiters goes to guard_ and finds the node);
//  - release: lock-free while kWaiters is clear; else under guard_ it counts the permits and
//    grants the head of the queue while the count covers its ask (settle_locked). One case stays
//    lock-free with waiters: kHeadAll set and the permits still short of all afterwards (a
//    SharedLock reader leaving while others still read): the head could not be granted anyway;
//  - the queue's order is the grant order, so a writer waiting for the readers ahead of it
//    holds back the readers behind it (phase-fair), and a waiter leaving the queue (cancelled)
//    re-runs settle_locked, which lets through what it held back.
// Cancellation follows waiter_queue.hpp: a grant to a waiter cancelled before it ran is given
// back under guard_ (give_back_locked) and goes on to the next waiter or back to the count.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include <weft/detail/atomic.hpp>
#include <weft/detail/context.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/detail/waiter_queue.hpp>
#include <weft/error.hpp>

namespace weft::detail {

// Lock's word: holder's thread tag << 32 | acquisitions << 2 | kWaiters | kLocked; one permit,
// free when kLocked is clear. The acquisition count (wrapping) tells a spinner whether the lock
// is changing hands; the tag says on which thread the holder took it, published by the same CAS
// (Permits<LockWord>::spin_acquire).
struct LockWord {
    static constexpr std::uint64_t kLocked = 1;
    static constexpr std::uint64_t kWaiters = 2;
    static constexpr std::uint64_t kHeadAll = 0;  // every ask is "all" (its one permit)
    static constexpr std::uint64_t kAcquired = 4;
    static constexpr std::uint64_t kCountMask = 0xffff'ffffu;
    static constexpr std::uint64_t kAll = 1;
    static constexpr std::uint64_t kMaxFree = 1;
    static constexpr bool kSpins = true;

    static std::uint64_t thread_tag() noexcept { return (reinterpret_cast<std::uintptr_t>(&tls_context) >> 4) << 32; }
    static constexpr std::uint64_t initial(std::uint64_t) noexcept { return 0; }
    static std::uint64_t free(std::uint64_t state) noexcept { return (state & kLocked) ? 0 : 1; }
    // One more acquisition, on this thread (flags kept).
    static std::uint64_t take(std::uint64_t state, std::uint64_t) noexcept {
        std::uint64_t count = state & kCountMask & ~(kLocked | kWaiters);
        return ((count + kAcquired) & kCountMask) | kLocked | thread_tag() | (state & kWaiters);
    }
    static std::uint64_t put(std::uint64_t state, std::uint64_t n) noexcept { return n ? state & ~kLocked : state; }
};

// Semaphore's and SharedLock's word: free permits << 2 | kHeadAll | kWaiters. A SharedLock
// starts with kAll free: a reader takes one, a writer takes them all.
struct CountWord {
    static constexpr std::uint64_t kWaiters = 1;
    static constexpr std::uint64_t kHeadAll = 2;
    static constexpr int kShift = 2;
    static constexpr std::uint64_t kMaxFree = std::numeric_limits<std::uint64_t>::max() >> kShift;
    static constexpr std::uint64_t kAll = kMaxFree;
    static constexpr bool kSpins = false;

    static constexpr std::uint64_t initial(std::uint64_t free) noexcept { return free << kShift; }
    static std::uint64_t free(std::uint64_t state) noexcept { return state >> kShift; }
    static std::uint64_t take(std::uint64_t state, std::uint64_t n) noexcept { return state - (n << kShift); }
    static std::uint64_t put(std::uint64_t state, std::uint64_t n) noexcept { return state + (n << kShift); }
};

template <class Word>
class Permits {
public:
    static constexpr std::uint64_t kAll = Word::kAll;
    static constexpr std::uint64_t kMaxFree = Word::kMaxFree;
    static constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max();
    enum Outcome : std::uint8_t { kGranted = 1 };

    explicit Permits(std::uint64_t free = 0) noexcept : state_(Word::initial(free)) {}
    Permits(const Permits&) = delete;
    Permits& operator=(const Permits&) = delete;

    std::uint64_t state() const noexcept { return state_.load(memory_order_relaxed); }
    static std::uint64_t free(std::uint64_t state) noexcept { return Word::free(state); }
    static bool waiting(std::uint64_t state) noexcept { return (state & Word::kWaiters) != 0; }
    TaskHeader* owner() const noexcept { return owner_.load(memory_order_relaxed); }

    // Takes `need` (1 or kAll) permits if they are free and nobody waits; an ask for all
    // records `self` as the owner.
    bool try_acquire(std::uint64_t need, TaskHeader* self) noexcept {
        std::uint64_t state = state_.load(memory_order_relaxed);
        while (!(state & Word::kWaiters) && Word::free(state) >= need) {
            if (state_.compare_exchange_weak(state, Word::take(state, need), memory_order_acquire,
                                             memory_order_relaxed)) {
                if (need == kAll) owner_.store(self, memory_order_relaxed);
                return true;
            }
        }
        return false;
    }
    // The awaiter's step 1: try_acquire, then (Lock) spin a little before queueing.
    bool ready_acquire(std::uint64_t need, TaskHeader* self) noexcept {
        if (try_acquire(need, self)) return true;
        if constexpr (Word::kSpins) return spin_acquire(self);
        return false;
    }

    // Gives back `n` permits (no ownership check: the caller knows they are held). False, and
    // nothing given back, if the free count would exceed `bound` (BoundedSemaphore).
    bool release(std::uint64_t n, std::uint64_t bound = kUnbounded) noexcept {
        if (n == kAll) owner_.store(nullptr, memory_order_relaxed);
        std::uint64_t state = state_.load(memory_order_relaxed);
        for (;;) {
            if ((state & Word::kWaiters) && !((state & Word::kHeadAll) && Word::free(state) + n < kAll))
                return release_slow(n, bound);
            if (Word::free(state) + n > bound) return false;
            if (state_.compare_exchange_weak(state, Word::put(state, n), memory_order_release, memory_order_relaxed))
                return true;
        }
    }

    // Waiter protocol (waiter_queue.hpp). The node's tag says its ask: 1 = all, 0 = one.
    bool enqueue_or_acquire(WaiterNode& node) noexcept;  // step 2; true: queued
    void unlink(WaiterNode& node) noexcept;              // step 4, cancelled while queued; under guard_
    void give_back_locked(WaiterNode& node) noexcept;    // step 4, cancelled after its grant; under guard_

    static std::uint64_t need_of(const WaiterNode& node) noexcept { return node.tag ? kAll : 1; }
    std::size_t waiter_count_locked() const noexcept { return waiters_.size(); }

private:
    // The word first, as in the primitives before the core (the spinners' cache line).
    Atomic<std::uint64_t> state_;
    Atomic<TaskHeader*> owner_{nullptr};  // who took all the permits (Lock, SharedLock's writer)

public:
    mutable SpinLock guard_;  // (public: the awaiter and SyncAccess take it)

private:
    bool spin_acquire(TaskHeader* self) noexcept;  // LockWord only (permits.cpp)
    bool release_slow(std::uint64_t n, std::uint64_t bound) noexcept;
    bool settle_locked(std::uint64_t n, std::uint64_t bound) noexcept;
    static std::uint64_t flags_for(const WaiterNode* head) noexcept {
        if (!head) return 0;
        return Word::kWaiters | (head->tag ? Word::kHeadAll : 0);
    }

    WaiterQueue waiters_{guard_};
};

template <>
bool Permits<LockWord>::spin_acquire(TaskHeader* self) noexcept;

extern template class Permits<LockWord>;
extern template class Permits<CountWord>;

// Tag for the guard constructor that adopts permits already taken.
struct AdoptPermits {};
inline constexpr AdoptPermits adopt_permits{};

// The one guard: holds `Need` permits of a core and gives them back when destroyed. Each
// primitive derives its Guard from it and names the early release (unlock()/release()).
template <class Word, std::uint64_t Need>
class PermitGuard {
public:
    using Core = Permits<Word>;
    static constexpr std::uint64_t kNeed = Need;

    PermitGuard() noexcept = default;
    PermitGuard(Core& core, AdoptPermits) noexcept : core_(&core) {}
    PermitGuard(PermitGuard&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
    PermitGuard& operator=(PermitGuard&& other) noexcept {
        if (this != &other) {
            reset();
            core_ = std::exchange(other.core_, nullptr);
        }
        return *this;
    }
    ~PermitGuard() { reset(); }

    /// Stops managing the permits without giving them back: whoever holds them must release
    /// them by hand later.
    void detach() noexcept { core_ = nullptr; }

protected:
    bool holds() const noexcept { return core_ != nullptr; }
    void release_held(const char* misuse) {
        if (!core_) throw UsageError(misuse);
        reset();
    }

private:
    void reset() noexcept {
        if (core_) std::exchange(core_, nullptr)->release(Need);
    }
    Core* core_ = nullptr;
};

// The one awaiter: `co_await` it for a Guard (a PermitGuard<Word, Need>) holding `Need`
// permits; single use. Step 1 spends the cooperative budget; an uncancellable one (Condition
// re-acquiring its Lock) is ended only by a grant.
template <class Word, std::uint64_t Need, class Guard>
class [[nodiscard("co_await it")]] PermitAwaiter : private WaiterNode {
public:
    using Core = Permits<Word>;
    struct Uncancellable {};

    PermitAwaiter(Core& core, const char* what) noexcept : core_(core), what_(what) {
        tag = Need == Core::kAll ? 1 : 0;
    }
    PermitAwaiter(Core& core, const char* what, Uncancellable) noexcept : PermitAwaiter(core, what) {
        cancellable_ = false;
    }

    bool await_ready() noexcept {
        if (!core_.ready_acquire(Need, running_task())) return false;
        complete_now(*this, Core::kGranted);
        return coop_spend();
    }
    bool await_suspend(std::coroutine_handle<> awaiting) {
        if (completed(*this)) {  // taken in await_ready, but the budget is spent
            coop_yield_suspend(awaiting);
            return true;
        }
        auto enqueue_or_acquire = [this] { return core_.enqueue_or_acquire(*this); };
        if (!cancellable_) {
            TaskHeader* self = current_task_or_throw(what_);
            note_await(self, AwaitKind::primitive, what_, &core_);
            waker = prepare_uncancellable_suspend(self, awaiting);
            return enqueue_or_acquire();
        }
        return suspend_waiter(*this, what_, awaiting, enqueue_or_acquire, &core_);
    }
    Guard await_resume() {
        if (!cancellable_) {
            settle_wait(*this, core_.guard_, [] {});
        } else if (!settle_wait(
                       *this, core_.guard_, [this] { core_.unlink(*this); },
                       [this] { core_.give_back_locked(*this); })) {
            throw_cancelled();
        }
        return Guard(core_, adopt_permits);
    }

private:
    Core& core_;
    const char* what_;
    bool cancellable_ = true;
};

}  // namespace weft::detail
