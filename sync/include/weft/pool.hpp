// weft::Pool<T>: a bounded pool of reusable objects made by an async factory (connections,
// sessions): asyncpg's / aiohttp's connection pools, Rust's bb8 and deadpool.
//
//   weft::Pool<Conn> pool({.max_size = 8,
//                          .factory = []() -> weft::Task<Conn> { co_return co_await Conn::open(addr); },
//                          .health_check = [](Conn& c) -> weft::Task<bool> { co_return co_await c.ping(); },
//                          .idle_timeout = 30s});
//   weft::Task<> query(weft::Pool<Conn>& pool) {
//       auto conn = co_await pool.acquire();   // an idle object, or a new one, or wait (FIFO)
//       co_await conn->send("SELECT 1");       // a throw here drops conn instead of returning it
//   }                                           // returned to the pool; the next waiter gets it
//
// At most max_size objects exist at once (idle, leased, or being made), always: a lease (and a
// factory call) holds a slot, one of max_size Semaphore permits; an idle object holds none,
// but a task holding a slot takes an idle object if there is one before it may make a new one,
// so idle + leased + being made never exceeds the permits. acquire() waits FIFO for a slot,
// then reuses the most recently returned idle
// object (LIFO: the warm ones are reused, the others age out), first dropping the idle ones
// older than idle_timeout and running health_check (if set) on the one it picks: false, or a
// throw, drops it and tries the next (or makes a new one). If no idle object is left it calls
// the factory; a factory that throws gives its slot back and acquire() rethrows.
//
// The Lease (RAII): operator-> / * reach the object; destroying the lease returns it to the
// pool (kept idle up to max_idle, else dropped). It is dropped instead (destroyed, its slot
// freed) when the lease is destroyed by an exception unwinding through it (cancellation
// included: the object may be halfway through a request; the lease compares
// std::uncaught_exceptions() with its value when it was made), or after lease.discard(). An
// error caught while the lease is still in scope is not seen: call discard() in that catch.
// release() returns it early. A lease may be moved to another task.
//
// Cancellation leaks nothing: a task cancelled while it waits for a slot holds none (the
// Semaphore's rule); cancelled inside the factory, its slot is given back; cancelled inside
// the health check, the object checked is dropped. Waiters resume on a worker loop.
//
// close() (deadpool's close, asyncpg's terminate without closing leased connections): every
// task waiting in acquire() and every later acquire() throws PoolClosed; idle objects are
// dropped at once; a lease returned after it drops its object; an object a factory finishes
// after it is dropped (its acquire() throws PoolClosed). Leases held stay usable until returned.
//
// The pool must outlive its leases and every task in acquire(), closed or not: after close(),
// let the refused tasks finish before destroying it. Dropping an object is destroying it
// (make T's destructor close what it holds).
#pragma once

#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include <weft/detail/atomic.hpp>
#include <weft/detail/spin_lock.hpp>
#include <weft/error.hpp>
#include <weft/semaphore.hpp>
#include <weft/sleep.hpp>
#include <weft/task.hpp>

namespace weft {

/// What acquire() throws once the pool is closed (Pool::close()).
///   try { auto conn = co_await pool.acquire(); } catch (const weft::PoolClosed&) { co_return; }
class PoolClosed : public Error {
public:
    PoolClosed() : Error("weft::Pool: the pool is closed") {}
};

template <class T>
struct PoolOptions {
    std::size_t max_size = 10;                                       // objects alive at most
    std::function<Task<T>()> factory{};                              // makes one (required)
    std::function<Task<bool>(T&)> health_check{};                    // on an idle one before reuse
    std::size_t max_idle = std::numeric_limits<std::size_t>::max();  // idle objects kept at most
    std::optional<Clock::duration> idle_timeout{};                   // idle longer: dropped, not reused
};

template <class T>
class Pool {
    static_assert(std::is_move_constructible_v<T>, "weft::Pool<T>: T must be move-constructible");

public:
    using Options = PoolOptions<T>;
    class Lease;

    /// UsageError for max_size 0 or no factory.
    explicit Pool(Options options) : options_(std::move(options)), slots_(options_.max_size) {
        if (options_.max_size == 0) throw UsageError("weft::Pool: max_size must be at least 1");
        if (!options_.factory) throw UsageError("weft::Pool: a factory is required");
    }
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    /// co_await it for a Lease on an object (see the top of this file).
    Task<Lease> acquire();

    /// Objects alive: idle, leased, or being made (never above max_size).
    std::size_t size() const noexcept { return live_.load(detail::memory_order_relaxed); }
    /// Idle objects waiting in the pool.
    std::size_t idle() const noexcept {
        detail::SpinGuard locked(guard_);
        return idle_.size();
    }
    /// Leases held now.
    std::size_t in_use() const noexcept { return leased_.load(detail::memory_order_relaxed); }
    /// Tasks in acquire() waiting for a slot.
    std::size_t waiting() const noexcept { return waiting_.load(detail::memory_order_relaxed); }
    std::size_t max_size() const noexcept { return options_.max_size; }
    /// Closes the pool (see the top of this file): waiters and later acquire()s throw
    /// PoolClosed, idle objects are dropped now, leased ones when returned. Idempotent.
    void close() {
        if (closed_.exchange(true, detail::memory_order_seq_cst)) return;
        // Wake every task waiting for a slot: it gets a permit, sees closed_ and throws (giving
        // the permit back). seq_cst with acquire()'s count-then-check: a task counted after
        // this load sees closed_ before it waits. Extra permits do no harm in a closed pool.
        if (std::size_t waiters = waiting_.load(detail::memory_order_seq_cst)) slots_.release(waiters);
        clear_idle();
    }
    bool closed() const noexcept { return closed_.load(detail::memory_order_acquire); }

    /// Drops every idle object (after a failover, say); leased ones are unaffected.
    void clear_idle() {
        std::deque<Idle> dropped;
        {
            detail::SpinGuard locked(guard_);
            dropped.swap(idle_);
        }
        live_.fetch_sub(dropped.size(), detail::memory_order_relaxed);
    }

private:
    struct Idle {
        T object;
        Clock::time_point since;
    };
    struct Counted {  // counts a task in waiting() while it waits for a slot
        detail::Atomic<std::size_t>& count;
        explicit Counted(detail::Atomic<std::size_t>& c) noexcept : count(c) {
            count.fetch_add(1, detail::memory_order_seq_cst);  // before the closed_ check (close())
        }
        ~Counted() { count.fetch_sub(1, detail::memory_order_relaxed); }
    };

    // The newest idle object not past idle_timeout; the expired ones are dropped (destroyed
    // outside the lock).
    std::optional<T> take_idle() {
        std::vector<Idle> expired;
        std::optional<T> taken;
        {
            detail::SpinGuard locked(guard_);
            if (options_.idle_timeout) {
                const Clock::time_point oldest = now() - *options_.idle_timeout;
                while (!idle_.empty() && idle_.front().since < oldest) {
                    expired.push_back(std::move(idle_.front()));
                    idle_.pop_front();
                }
            }
            if (!idle_.empty()) {
                taken.emplace(std::move(idle_.back().object));
                idle_.pop_back();
            }
        }
        live_.fetch_sub(expired.size(), detail::memory_order_relaxed);
        return taken;
    }
    void drop(std::optional<T>& object) noexcept {
        object.reset();
        live_.fetch_sub(1, detail::memory_order_relaxed);
    }
    // A lease ends: keep the object idle (or drop it), then free its slot.
    void give_back(std::optional<T>& object, bool discard) {
        if (!discard) {
            const Clock::time_point at = now();
            detail::SpinGuard locked(guard_);
            // closed_ is read under guard_: either close()'s clear_idle() comes after this
            // push and drops it, or closed_ is seen here.
            if (idle_.size() < options_.max_idle && !closed_.load(detail::memory_order_acquire)) {
                idle_.push_back(Idle{std::move(*object), at});
                object.reset();  // (a moved-from shell)
                leased_.fetch_sub(1, detail::memory_order_relaxed);
                return;
            }
        }
        drop(object);  // (outside the lock: T's destructor may take a while)
        leased_.fetch_sub(1, detail::memory_order_relaxed);
    }

    Options options_;
    Semaphore slots_;  // max_size permits: one per object alive or being made
    mutable detail::SpinLock guard_;
    std::deque<Idle> idle_;  // oldest at the front
    detail::Atomic<std::size_t> live_{0};
    detail::Atomic<std::size_t> leased_{0};
    detail::Atomic<std::size_t> waiting_{0};
    detail::Atomic<bool> closed_{false};
};

/// An object on loan from a Pool. Destroyed normally: returned; destroyed by an exception
/// unwinding (cancellation included) or after discard(): dropped. Move-only.
template <class T>
class [[nodiscard("the object goes back to the pool as soon as the lease is destroyed")]] Pool<T>::Lease {
public:
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)),
          object_(std::move(other.object_)),
          permit_(std::move(other.permit_)),
          unwinding_(other.unwinding_) {
        other.object_.reset();
    }
    Lease& operator=(Lease&& other) noexcept {
        if (this != &other) {
            end(false);
            pool_ = std::exchange(other.pool_, nullptr);
            object_ = std::move(other.object_);
            other.object_.reset();
            permit_ = std::move(other.permit_);
            unwinding_ = other.unwinding_;
        }
        return *this;
    }
    ~Lease() { end(std::uncaught_exceptions() > unwinding_); }

    T* operator->() { return &get(); }
    T& operator*() { return get(); }
    T& get() {
        if (!pool_) throw UsageError("weft::Pool::Lease: the lease is empty (released, discarded or moved from)");
        return *object_;
    }
    explicit operator bool() const noexcept { return pool_ != nullptr; }

    /// Returns the object to the pool now.
    void release() {
        if (!pool_) throw UsageError("weft::Pool::Lease::release(): the lease is empty");
        end(false);
    }
    /// Drops the object now (it is broken): destroyed, its slot freed for a new one.
    void discard() {
        if (!pool_) throw UsageError("weft::Pool::Lease::discard(): the lease is empty");
        end(true);
    }

private:
    friend class Pool;
    Lease(Pool& pool, T&& object, Semaphore::Guard permit)
        : pool_(&pool), object_(std::move(object)), permit_(std::move(permit)), unwinding_(std::uncaught_exceptions()) {
        pool.leased_.fetch_add(1, detail::memory_order_relaxed);
    }
    void end(bool discard) noexcept {
        if (!pool_) return;
        Pool* pool = std::exchange(pool_, nullptr);
        try {
            pool->give_back(object_, discard);
        } catch (...) {  // T's move threw: drop it
            pool->drop(object_);
            pool->leased_.fetch_sub(1, detail::memory_order_relaxed);
        }
        Semaphore::Guard permit = std::move(permit_);  // the slot is free once the object is idle or gone
    }

    Pool* pool_;
    std::optional<T> object_;
    Semaphore::Guard permit_;
    int unwinding_;  // std::uncaught_exceptions() when the lease was made
};

template <class T>
Task<typename Pool<T>::Lease> Pool<T>::acquire() {
    std::optional<Semaphore::Guard> slot;
    {
        Counted counted(waiting_);
        if (closed_.load(detail::memory_order_seq_cst)) throw PoolClosed();
        Semaphore::Guard permit = co_await slots_.acquire();  // FIFO; a cancelled waiter holds none
        slot.emplace(std::move(permit));
    }
    if (closed_.load(detail::memory_order_acquire)) throw PoolClosed();  // woken by close()
    for (;;) {
        std::optional<T> object = take_idle();
        if (!object) break;
        if (!options_.health_check) co_return Lease(*this, std::move(*object), std::move(*slot));
        bool healthy = false;
        try {
            healthy = co_await options_.health_check(*object);
        } catch (const CancelledError&) {
            drop(object);  // interrupted halfway: its state is unknown
            throw;
        } catch (...) {
            healthy = false;  // a check that throws is a failed check
        }
        if (healthy && !closed_.load(detail::memory_order_acquire))
            co_return Lease(*this, std::move(*object), std::move(*slot));
        drop(object);
        if (closed_.load(detail::memory_order_acquire)) throw PoolClosed();
    }
    live_.fetch_add(1, detail::memory_order_relaxed);  // counted while it is being made
    std::optional<T> made;
    try {
        T value = co_await options_.factory();
        made.emplace(std::move(value));
    } catch (...) {
        live_.fetch_sub(1, detail::memory_order_relaxed);
        throw;  // `slot` gives the permit back
    }
    if (closed_.load(detail::memory_order_acquire)) {  // closed while it was being made
        drop(made);
        throw PoolClosed();
    }
    co_return Lease(*this, std::move(*made), std::move(*slot));
}

}  // namespace weft
