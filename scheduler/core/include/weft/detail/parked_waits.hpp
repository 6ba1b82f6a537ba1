// The waits a shutdown cannot reach through a worker: tasks parked in a sync primitive's
// waiter list (a Lock, a Queue, an Event nobody sets). Timers and sockets belong to a worker,
// which cancels their waiters itself; a primitive belongs to no runtime, so each waiter list
// that ever held a waiter registers here, and the shutdown walks the registry.
//
// Cost: a list registers once in its life (its first wait; the owner's `registered()` check is
// one branch on later waits) and unregisters in its destructor. The registry is sharded by
// address, each shard under its own mutex, touched only at those two moments and by shutdowns.
//
// Lock order: a list registers under its owner's guard (guard, then shard mutex). A shutdown
// holds a shard mutex and only *tries* the guards (ParkedWaitList::visit_parked returns
// kGuardBusy), so the two orders cannot deadlock; a busy guard counts as "still waiting".
//
// A second kind of waiter list (an I/O driver's, say) plugs in the same way: derive from
// ParkedWaitList, call register_parked() on its first wait, implement visit_parked(), and call
// leave_registry() first thing in its destructor.
#pragma once

#include <cstddef>

#include <weft/detail/task_header.hpp>

namespace weft::detail {

class ParkedWaitList {
public:
    static constexpr std::size_t kGuardBusy = static_cast<std::size_t>(-1);

    // What a shutdown asks of each list: call each(waker, context) for every waiter of
    // `runtime` parked in it (the waker its awaiter registered), under the list's guard.
    struct Visit {
        RuntimeCore* runtime = nullptr;
        void (*each)(const Waker& waker, void* context) noexcept = nullptr;
        void* context = nullptr;
    };

    // Called with the registry shard locked: try the owner's guard (kGuardBusy if taken), then
    // call visit.each for the waiters of visit.runtime here; returns how many there are.
    virtual std::size_t visit_parked(const Visit& visit) noexcept = 0;

    bool registered() const noexcept { return registered_; }

protected:
    ParkedWaitList() = default;
    ~ParkedWaitList() { leave_registry(); }
    ParkedWaitList(const ParkedWaitList&) = delete;
    ParkedWaitList& operator=(const ParkedWaitList&) = delete;

    // Under the owner's guard, before the list's first waiter parks (once: check registered()).
    void register_parked() noexcept;
    // The derived list's destructor calls this first: once the derived part is destroyed, a
    // shutdown walking the registry would call visit_parked() on a half-destroyed object (the
    // base's destructor is too late for that; it only repeats the call, which is then a no-op).
    void leave_registry() noexcept {
        if (registered_) unregister_parked();
    }

private:
    friend class ParkedWaitRegistry;
    void unregister_parked() noexcept;

    ParkedWaitList* prev_ = nullptr;
    ParkedWaitList* next_ = nullptr;
    bool registered_ = false;  // written under the owner's guard; read by the owner (or its destructor)
};

// The shutdown's walk over every registered list (runtime_core.cpp, shutdown protocol).
// Returns how many tasks of visit.runtime wait in them, counting a busy list as one.
std::size_t visit_parked_waits(const ParkedWaitList::Visit& visit) noexcept;

}  // namespace weft::detail
