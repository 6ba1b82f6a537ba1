// Recycling allocator for coroutine frames.
//
// Each thread owns a pool of free blocks per size class. A block carries nothing but the
// frame: its pool is named by the header of the slab it was carved from (slabs are
// kSlabBytes-aligned, so a frame finds it by masking its address), and its size class
// comes from the size the coroutine machinery passes to the promise's sized operator
// delete. Freed on the owner a block goes back on a local list (no atomics); freed on
// another thread it is pushed onto the owner's lock-free remote list, which the owner
// takes whole when its local list runs dry. So a spawn in steady state does no malloc,
// frames may finish on any worker, and a live task costs only its frame (spawn of 1M
// tasks is bound by the kernel zeroing fresh pages for them).
//
// The common case (this thread's list has a block of the class; a block freed on its
// owner) is inline here: it runs once per task, and as a call it cost a fifth of a
// fork-join task's instructions. Everything else is in frame_allocator.cpp.
#pragma once

#include <cstddef>
#include <cstdint>

#include <weft/detail/build_config.hpp>

namespace weft::detail {

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_PLAIN_FRAMES 1  // let AddressSanitizer see every frame's lifetime
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_PLAIN_FRAMES 1
#endif
#endif

namespace frames {

inline constexpr std::size_t kGranule = 16;   // fine classes: frames pack densely (fewer first-touch faults)
// Blocks up to 4 KiB are pooled; larger ones use operator new. (The check build pools up to 256 B.)
inline constexpr std::size_t kClasses = WEFT_CHECK_OR(16, 256);
inline constexpr std::size_t kSlabBytes = WEFT_CHECK_OR(std::size_t{64} << 10, std::size_t{2} << 20);  // and alignment

struct FreeBlock {
    FreeBlock* next;
    std::size_t size_class;  // set on the remote list only (the local lists are per class)
};

// The owner-only part of a thread's pool (the rest is in frame_allocator.cpp).
struct LocalLists {
    FreeBlock* head[kClasses + 1] = {};
};

// At the start of every slab (a cache line of its own: every thread freeing into the slab
// reads it, only its creator writes it).
struct alignas(64) SlabHeader {
    LocalLists* owner;
};

// This thread's lists, or nullptr before its first frame.
inline thread_local LocalLists* tls_lists = nullptr;

// (Never 0: a block holds a FreeBlock. Frame sizes are constants, so this folds away.)
constexpr std::size_t size_class_of(std::size_t size) noexcept {
    return size == 0 ? 1 : (size + kGranule - 1) / kGranule;
}

inline LocalLists* owner_of(void* pooled_frame) noexcept {
    return reinterpret_cast<SlabHeader*>(reinterpret_cast<std::uintptr_t>(pooled_frame) & ~(kSlabBytes - 1))->owner;
}

void* allocate_slow(std::size_t size);
// Gives this thread its pool and first slab now (a worker, as it starts), rather than in
// its first spawn.
void prepare_this_thread() noexcept;
void free_slow(void* frame, std::size_t size) noexcept;

}  // namespace frames

inline void* allocate_frame(std::size_t size) {
#ifndef WEFT_PLAIN_FRAMES
    const std::size_t size_class = frames::size_class_of(size);
    if (size_class <= frames::kClasses) {
        if (frames::LocalLists* lists = frames::tls_lists) {
            if (frames::FreeBlock* block = lists->head[size_class]) {
                lists->head[size_class] = block->next;
                return block;
            }
        }
    }
#endif
    return frames::allocate_slow(size);
}

// `size`: what allocate_frame was given for this frame.
inline void free_frame(void* frame, std::size_t size) noexcept {
#ifndef WEFT_PLAIN_FRAMES
    const std::size_t size_class = frames::size_class_of(size);
    if (size_class <= frames::kClasses) {
        frames::LocalLists* owner = frames::owner_of(frame);
        if (owner == frames::tls_lists) {
            auto* block = static_cast<frames::FreeBlock*>(frame);
            block->next = owner->head[size_class];
            owner->head[size_class] = block;
            return;
        }
    }
#endif
    frames::free_slow(frame, size);
}

}  // namespace weft::detail
