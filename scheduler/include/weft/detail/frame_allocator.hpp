// Recycling allocator for coroutine frames.
//
// Each thread owns a pool of free blocks per size class. A block remembers its
// owning pool; freed on the owner it goes back on a local list (no atomics), freed
// on another thread it is pushed onto the owner's lock-free remote list, which the
// owner takes whole when its local list runs dry. So a spawn in steady state does no
// malloc, and frames may finish on any worker.
//
// The common case (this thread's list has a block of the class; a block freed on its
// owner) is inline here: it runs once per task, and as a call it cost a fifth of a
// fork-join task's instructions. Everything else is in frame_allocator.cpp.
#pragma once

#include <cstddef>

namespace weft::detail {

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_PLAIN_FRAMES 1  // let AddressSanitizer see every frame's lifetime
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_PLAIN_FRAMES 1
#endif
#endif

namespace frames {

inline constexpr std::size_t kPrefix = 16;
inline constexpr std::size_t kGranule = 16;   // fine classes: frames pack densely (fewer first-touch faults)
inline constexpr std::size_t kClasses = 256;  // blocks up to 4 KiB are pooled

struct FreeBlock {
    FreeBlock* next;
};

// The owner-only part of a thread's pool (the rest is in frame_allocator.cpp).
struct LocalLists {
    FreeBlock* head[kClasses + 1] = {};
};

// Every block starts with this; the frame follows it.
struct alignas(16) BlockPrefix {
    LocalLists* owner;       // nullptr: not pooled
    std::size_t size_class;
};
static_assert(sizeof(BlockPrefix) == kPrefix);

// This thread's lists, or nullptr before its first frame.
inline thread_local LocalLists* tls_lists = nullptr;

constexpr std::size_t size_class_of(std::size_t size) noexcept { return (size + kPrefix + kGranule - 1) / kGranule; }

void* allocate_slow(std::size_t size);
// Gives this thread its pool and first slab now (a worker, as it starts), rather than in
// its first spawn.
void prepare_this_thread() noexcept;
void free_slow(void* frame) noexcept;

}  // namespace frames

inline void* allocate_frame(std::size_t size) {
#ifndef WEFT_PLAIN_FRAMES
    const std::size_t size_class = frames::size_class_of(size);
    if (size_class <= frames::kClasses) {
        if (frames::LocalLists* lists = frames::tls_lists) {
            if (frames::FreeBlock* block = lists->head[size_class]) {
                lists->head[size_class] = block->next;
                return block;  // the prefix in front of it is still valid
            }
        }
    }
#endif
    return frames::allocate_slow(size);
}

inline void free_frame(void* frame) noexcept {
#ifndef WEFT_PLAIN_FRAMES
    auto* prefix = reinterpret_cast<frames::BlockPrefix*>(static_cast<char*>(frame) - frames::kPrefix);
    if (frames::LocalLists* owner = prefix->owner; owner && owner == frames::tls_lists) {
        auto* block = static_cast<frames::FreeBlock*>(frame);
        block->next = owner->head[prefix->size_class];
        owner->head[prefix->size_class] = block;
        return;
    }
#endif
    frames::free_slow(frame);
}

}  // namespace weft::detail
