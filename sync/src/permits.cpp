// The permit core's slow paths (see permits.hpp for the word, the flags and the invariant).
// Everything here runs under guard_. While kWaiters is set the only lock-free change to the
// word is a release that cannot grant the head (kHeadAll), so settle_locked recomputes from the
// word it CASes on and nothing it decided goes stale.
#include <weft/detail/permits.hpp>

#include <weft/detail/build_config.hpp>

namespace weft::detail {

// Spinning (see lock.hpp). Pauses double up to kMaxPause between looks at the state word, so
// the holder keeps the cache line most of the time. Gives up when somebody queues (FIFO), when
// one hold has lasted kStallPauses (its holder is likely suspended, or its thread preempted),
// or after kMaxPauses in all. Skipped when the holder took the lock on this thread (the tag in
// the state word): it cannot be running now.
template <>
bool Permits<LockWord>::spin_acquire(TaskHeader* self) noexcept {
    constexpr unsigned kMaxPause = 64, kStallPauses = 512, kMaxPauses = 8192;
    std::uint64_t seen = state_.load(memory_order_relaxed);
    if ((seen & LockWord::kLocked) && (seen & ~LockWord::kCountMask) == LockWord::thread_tag()) return false;
    unsigned pause = 1, stalled = 0;
    for (unsigned total = 0; total < kMaxPauses; total += pause) {
        for (unsigned i = 0; i < pause; ++i) cpu_relax();
        std::uint64_t state = state_.load(memory_order_relaxed);
        if (state & LockWord::kWaiters) return false;
        if (try_acquire(kAll, self)) return true;
        if ((state | LockWord::kLocked) != (seen | LockWord::kLocked)) {  // it changed hands: holders run
            seen = state;
            stalled = 0;
        } else if ((stalled += pause) >= kStallPauses) {
            return false;
        }
        if (pause < kMaxPause) pause *= 2;
    }
    return false;
}

template <class Word>
bool Permits<Word>::enqueue_or_acquire(WaiterNode& node) noexcept {
    SpinGuard locked(guard_);
    const std::uint64_t need = need_of(node);
    std::uint64_t state = state_.load(memory_order_relaxed);
    for (;;) {
        if (state & Word::kWaiters) break;  // others wait: behind them (the flags are already right)
        if (Word::free(state) >= need) {
            if (state_.compare_exchange_weak(state, Word::take(state, need), memory_order_acquire,
                                             memory_order_relaxed)) {
                if (need == kAll) owner_.store(waiting_task(node.waker), memory_order_relaxed);
                complete_now(node, kGranted);
                return false;
            }
        } else if (state_.compare_exchange_weak(state, state | flags_for(&node), memory_order_relaxed)) {
            break;  // still short of `need`, now flagged: every release from here on sees us
        }
    }
    enqueue(waiters_, node);
    return true;
}

// Counts `n` more free permits (0: only re-check after the queue changed), then grants the
// head of the queue while the free permits cover its ask, and leaves the flags matching the
// queue; each step is at most one write. False, and nothing changed, if the free count would
// exceed `bound` (checked before any grant, as asyncio's BoundedSemaphore does). A grant is a
// hand-off: the word never shows the permits free in between, so no fast path takes them first.
// A write is skipped only when the word would not change; that happens only when the head asks
// one permit, so kHeadAll is clear and no lock-free release can have changed the word either.
template <class Word>
[[gnu::always_inline]] inline bool Permits<Word>::settle_locked(std::uint64_t n, std::uint64_t bound) noexcept {
    constexpr std::uint64_t kFlags = Word::kWaiters | Word::kHeadAll;
    // acquire: a grant hands on what the last lock-free release published.
    std::uint64_t state = state_.load(memory_order_acquire);
    for (;;) {
        if (Word::free(state) + n > bound) return false;  // (asyncio checks before granting too)
        WaiterNode* head = waiters_.front();
        // Anyone queued is flagged (after an unlink the flag may still be set with nobody left).
        WEFT_ASSERT(!head || (state & Word::kWaiters));
        const std::uint64_t counted = Word::put(state, n);
        if (!head || Word::free(counted) < need_of(*head)) {
            std::uint64_t next = (counted & ~kFlags) | flags_for(head);
            if (next == state || state_.compare_exchange_weak(state, next, memory_order_release, memory_order_acquire))
                return true;
            continue;
        }
        const std::uint64_t need = need_of(*head);
        std::uint64_t next = (Word::take(counted, need) & ~kFlags) | flags_for(head->next);
        if constexpr (Word::kHeadAll == 0) {
            // Lock: a waiter queued, so kWaiters is set and no fast path can change the word.
            WEFT_ASSERT((state & Word::kWaiters) && state_.load(memory_order_relaxed) == state);
            state_.store(next, memory_order_release);
        } else if (next != state &&  // (a permit handed on with the flags unchanged: nothing to write)
                   !state_.compare_exchange_weak(state, next, memory_order_acq_rel, memory_order_acquire)) {
            continue;
        }
        state = next;
        n = 0;
        waiters_.pop_front();
        if (need == kAll) owner_.store(waiting_task(head->waker), memory_order_relaxed);
        wake_waiter(head, kGranted);  // it resumes holding the permits
        // Lock: its one permit is taken again and the flags already match the queue behind.
        if constexpr (Word::kHeadAll == 0) return true;
    }
}

template <class Word>
bool Permits<Word>::release_slow(std::uint64_t n, std::uint64_t bound) noexcept {
    SpinGuard locked(guard_);
    return settle_locked(n, bound);
}

template <class Word>
void Permits<Word>::unlink(WaiterNode& node) noexcept {
    waiters_.remove(&node);
    settle_locked(0, kUnbounded);  // it may have been holding back the waiters behind it
}

template <class Word>
void Permits<Word>::give_back_locked(WaiterNode& node) noexcept {
    const std::uint64_t need = need_of(node);
    if (need == kAll) owner_.store(nullptr, memory_order_relaxed);
    settle_locked(need, kUnbounded);  // as if it had taken them and released them at once
}

template class Permits<LockWord>;
template class Permits<CountWord>;

}  // namespace weft::detail
