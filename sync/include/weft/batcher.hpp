// weft::Batcher<In, Out>: many callers submit one item each and await their own result, while
// the items travel to a batch function together (the tutorials' BatchProcessor; DataLoader,
// Tokio's batch services): one database round trip or one model call for many requests.
//
//   weft::Batcher<UserId, User> users(
//       [&](std::vector<UserId> ids) -> weft::Task<std::vector<User>> { co_return co_await db.get_many(ids); },
//       {.max_size = 100, .max_delay = 5ms});
//   weft::Task<> handle(Request r) {
//       User u = co_await users.submit(r.user_id);   // this caller's own answer
//   }
//   co_await users.close();   // runs what is pending, waits for the batches in flight
//
// A batch opens with its first item and closes at max_size items or max_delay after it
// opened, whichever comes first; it then runs on a task of its own (so a caller's
// cancellation never reaches it), calling the batch function with the items in submission
// order. The function returns one result per item, in the same order: result i goes to the
// caller of item i. At most max_concurrent batches run at once (0: no limit); the others
// wait their turn (FIFO) while new items gather in the next batch.
//
// Errors reach every caller of the batch: the exception the function throws, or
// weft::BatchError when it returns the wrong number of results (its message says how many) or
// when the batch's task was cancelled (the runtime shutting down).
//
// Cancellation: a caller cancelled (or timed out) while it waits leaves its item in the batch:
// it is still processed with the others and its result is discarded. Nothing else changes for
// the other callers.
//
// Closing: close() refuses new items (submit() then throws weft::BatcherClosed), closes the
// open batch at once so that its callers get their results, and returns once every batch has
// finished. The destructor (without close()) also refuses new items, and fails the callers of
// the batch still open with BatcherClosed (not a hang); batches already running finish (they
// keep the batch function alive). Callers resume on a worker loop.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <weft/detail/spin_lock.hpp>
#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/future.hpp>
#include <weft/semaphore.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/timeout.hpp>

namespace weft {

/// submit() on a closed Batcher, or the open batch of a Batcher destroyed without close().
class BatcherClosed : public Error {
public:
    BatcherClosed() : Error("weft::Batcher: the batcher is closed (close() was called or it was destroyed)") {}
};

/// A batch that could not produce its results: the function returned the wrong number of them,
/// or the batch's task was cancelled. Every caller of that batch gets it.
class BatchError : public Error {
public:
    using Error::Error;
};

struct BatcherOptions {
    std::size_t max_size = 64;                                     // items that close a batch
    Clock::duration max_delay = std::chrono::milliseconds(10);    // ...or this long after its first
    std::size_t max_concurrent = 0;                                // batches running at once; 0: any
};

template <class In, class Out>
class Batcher {
public:
    using BatchFn = std::function<Task<std::vector<Out>>(std::vector<In>)>;
    using Options = BatcherOptions;

    /// UsageError for an empty function, max_size 0 or a negative delay.
    Batcher(BatchFn fn, Options options = {}) : shared_(std::make_shared<Shared>(std::move(fn), options)) {
        if (!shared_->fn) throw UsageError("weft::Batcher: the batch function is empty");
        if (options.max_size == 0) throw UsageError("weft::Batcher: max_size must be at least 1");
        if (options.max_delay < Clock::duration::zero())
            throw UsageError("weft::Batcher: max_delay must not be negative");
        if (options.max_concurrent) shared_->turns.emplace(options.max_concurrent);
    }
    Batcher(const Batcher&) = delete;
    Batcher& operator=(const Batcher&) = delete;
    ~Batcher() { shared_->abandon(); }

    /// Adds `item` to the open batch and awaits its result (see the top of this file).
    Task<Out> submit(In item) { return submit_to(shared_, std::move(item)); }
    /// Closes the open batch now (it runs without waiting for max_size or max_delay).
    void flush() { shared_->flush(); }
    /// Refuses new items, runs the open batch now, and returns once every batch has finished.
    Task<void> close() { return close_of(shared_); }

    /// Items in the open batch.
    std::size_t pending() const {
        detail::SpinGuard locked(shared_->guard);
        return shared_->open ? shared_->open->items.size() : 0;
    }
    /// Batches opened and not finished yet (the open one included).
    std::size_t in_flight() const {
        detail::SpinGuard locked(shared_->guard);
        return shared_->in_flight;
    }

private:
    struct Batch {
        std::vector<In> items;
        std::vector<Out> results;
        Future<void> done;     // the results are there, or the batch's error
        Event due;             // full, flushed or closed: run it now
        bool abandoned = false;  // under the guard: the Batcher died with it open
    };

    // What the batch tasks share with the Batcher: they keep it (and the function) alive.
    struct Shared {
        Shared(BatchFn f, Options o) : fn(std::move(f)), options(o) {}

        BatchFn fn;
        Options options;
        std::optional<Semaphore> turns;  // max_concurrent
        mutable detail::SpinLock guard;  // open, closed, in_flight
        std::shared_ptr<Batch> open;
        bool closed = false;
        std::size_t in_flight = 0;
        Event drained;  // closed and nothing in flight

        void flush() {
            std::shared_ptr<Batch> batch;
            {
                detail::SpinGuard locked(guard);
                batch = std::exchange(open, nullptr);
            }
            if (batch) batch->due.set();
        }
        void abandon() {
            std::shared_ptr<Batch> batch;
            {
                detail::SpinGuard locked(guard);
                closed = true;
                batch = std::exchange(open, nullptr);
                if (batch) batch->abandoned = true;
            }
            if (!batch) return;
            try {
                batch->done.set_exception(std::make_exception_ptr(BatcherClosed()));
            } catch (const InvalidStateError&) {  // its task was cancelled meanwhile and said so first
            }
            batch->due.set();  // its task wakes and ends
        }
        void finished() {
            bool now_drained = false;
            {
                detail::SpinGuard locked(guard);
                now_drained = --in_flight == 0 && closed;
            }
            if (now_drained) drained.set();
        }
    };

    static Task<Out> submit_to(std::shared_ptr<Shared> shared, In item) {
        std::shared_ptr<Batch> batch;
        std::size_t index = 0;
        bool opened = false;
        bool full = false;
        {
            detail::SpinGuard locked(shared->guard);
            if (!shared->closed) {
                if (!shared->open) {
                    shared->open = std::make_shared<Batch>();
                    shared->open->items.reserve(shared->options.max_size);
                    ++shared->in_flight;
                    opened = true;
                }
                batch = shared->open;
                index = batch->items.size();
                batch->items.push_back(std::move(item));
                if (batch->items.size() >= shared->options.max_size) {
                    shared->open = nullptr;
                    full = true;
                }
            }
        }
        if (!batch) throw BatcherClosed();
        if (opened) spawn(run_batch(shared, batch)).detach();
        if (full) batch->due.set();
        co_await batch->done;  // the batch's error, if it failed
        co_return std::move(batch->results[index]);
    }

    static Task<void> close_of(std::shared_ptr<Shared> shared) {
        std::shared_ptr<Batch> batch;
        bool now_drained = false;
        {
            detail::SpinGuard locked(shared->guard);
            shared->closed = true;
            batch = std::exchange(shared->open, nullptr);
            now_drained = shared->in_flight == 0;
        }
        if (batch) batch->due.set();
        if (now_drained) shared->drained.set();
        co_await shared->drained.wait();
    }

    // One task per batch: waits until it is due, then runs the function and delivers.
    static Task<void> run_batch(std::shared_ptr<Shared> shared, std::shared_ptr<Batch> batch) {
        struct Finished {
            Shared& shared;
            ~Finished() { shared.finished(); }
        } finished{*shared};
        std::exception_ptr error;
        std::exception_ptr cancelled;
        try {
            try {
                co_await wait_for(batch->due.wait(), shared->options.max_delay);
            } catch (const TimeoutError&) {  // max_delay passed: due now
            }
            bool abandoned = false;
            {
                detail::SpinGuard locked(shared->guard);
                if (shared->open == batch) shared->open = nullptr;  // closed by its delay
                abandoned = batch->abandoned;
            }
            if (abandoned) co_return;  // its callers already have BatcherClosed
            std::optional<Semaphore::Guard> turn;
            if (shared->turns) {
                Semaphore::Guard granted = co_await shared->turns->acquire();
                turn.emplace(std::move(granted));
            }
            const std::size_t count = batch->items.size();
            std::vector<Out> results = co_await shared->fn(std::move(batch->items));
            if (results.size() == count) {
                batch->results = std::move(results);
            } else {
                error = std::make_exception_ptr(BatchError(
                    "weft::Batcher: the batch function returned " + std::to_string(results.size()) + " results for " +
                    std::to_string(count) + " items (it must return one per item, in order)"));
            }
        } catch (const TimeoutError&) {
            error = std::current_exception();  // the function's own deadline: its failure
        } catch (const CancelledError&) {
            cancelled = std::current_exception();
            error = std::make_exception_ptr(
                BatchError("weft::Batcher: the batch's task was cancelled before the batch completed"));
        } catch (...) {
            error = std::current_exception();
        }
        try {
            if (error) {
                batch->done.set_exception(error);
            } else {
                batch->done.set_result();
            }
        } catch (const InvalidStateError&) {  // abandoned meanwhile: its callers have BatcherClosed
        }
        if (cancelled) std::rethrow_exception(cancelled);
    }

    std::shared_ptr<Shared> shared_;
};

}  // namespace weft
