// Test helpers shared by the runtime tests.
//
//   test::LifeCounter frames;
//   { auto t = holds(test::Counted(frames)); }   // a Task that was never awaited
//   REQUIRE(frames.live() == 0);                 // its frame (and the copy in it) is gone
//
// Counted counts every construction (copies and moves too) and every destruction, so
// live() == 0 means each object was destroyed exactly once, and constructed() says how many
// there were. The counters are atomic: objects may die on any worker. Cleanup counts
// the unwinding of the frame that holds it.
#pragma once

#include <atomic>
#include <cstdint>

namespace test {

class LifeCounter {
public:
    std::int64_t constructed() const noexcept { return constructed_.load(); }
    std::int64_t destroyed() const noexcept { return destroyed_.load(); }
    std::int64_t live() const noexcept { return constructed() - destroyed(); }

private:
    friend class Counted;
    std::atomic<std::int64_t> constructed_{0};
    std::atomic<std::int64_t> destroyed_{0};
};

class Counted {
public:
    explicit Counted(LifeCounter& counter) noexcept : counter_(&counter) { counter_->constructed_.fetch_add(1); }
    Counted(const Counted& other) noexcept : counter_(other.counter_) { counter_->constructed_.fetch_add(1); }
    Counted(Counted&& other) noexcept : counter_(other.counter_) { counter_->constructed_.fetch_add(1); }
    Counted& operator=(const Counted&) = delete;
    Counted& operator=(Counted&&) = delete;
    ~Counted() { counter_->destroyed_.fetch_add(1); }

private:
    LifeCounter* counter_;
};

// Counts its destruction: RAII cleanup in a task ran, once per object.
//   test::Cleanup cleanup{&tally->cleanups};
struct Cleanup {
    std::atomic<int>* ran;
    ~Cleanup() { ran->fetch_add(1); }
};

}  // namespace test
