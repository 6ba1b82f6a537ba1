// Helpers for the executor-bridge tests (tests/exec_*.cpp).
//
//   std::latch dropped{1};
//   co_await weft::offload([&] { return test::DropSignal(dropped); });  // result kept or dropped
//   co_await weft::offload([&] { dropped.wait(); });  // waits off the loop until it is destroyed
#pragma once

#include <latch>
#include <utility>

namespace test {

// A value that counts `latch` down when its last live copy (not a moved-from shell) dies,
// so a test can wait, without sleeping, until a dropped result has really been freed.
class DropSignal {
public:
    explicit DropSignal(std::latch& latch) noexcept : latch_(&latch) {}
    DropSignal(DropSignal&& other) noexcept : latch_(std::exchange(other.latch_, nullptr)) {}
    DropSignal& operator=(DropSignal&&) = delete;
    ~DropSignal() {
        if (latch_) latch_->count_down();
    }

private:
    std::latch* latch_;
};

}  // namespace test
