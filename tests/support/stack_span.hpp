// How far apart the stack frames of a chain's levels are: with symmetric transfer (and a
// bounded number of nested calls) they all resume within a few KiB, however deep the chain.
#pragma once

#include <cstdint>

namespace test {

// Where the stack pointer is: the frame address of a call that cannot be inlined. Every
// level of a chain records it; one thread's levels only.
struct StackSpan {
    std::uintptr_t lowest = UINTPTR_MAX;
    std::uintptr_t highest = 0;

    [[gnu::noinline]] void note() {
        auto here = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
        if (here < lowest) lowest = here;
        if (here > highest) highest = here;
    }
    std::uintptr_t width() const { return highest - lowest; }
};

// A growing stack would cost at least 16 bytes a level; allow 64 KiB in total (the first
// kMaxNestedRuns levels run as nested calls; past them, symmetric transfer).
inline constexpr std::uintptr_t kStackSlack = 64 * 1024;

}  // namespace test
