// Per-thread recycling pools for coroutine frames (see frame_allocator.hpp).
//
// A slab is a kSlabBytes-aligned region of kSlabBytes: a SlabHeader naming its pool, then
// blocks carved one after another, each a whole number of granules (so frames stay
// 16-byte aligned). A frame finds its pool by masking its address; its size class comes
// from the size its operator delete is given.
//
// Protocol for remote frees and thread exit:
//  1. A foreign free writes the block's class into it and pushes it onto owner->remote
//     with a CAS (Treiber push).
//  2. The owner takes the whole list with exchange(nullptr): no ABA, no lock.
//  3. Pools are immortal: at thread exit a pool (its free blocks, its slabs, its remote
//     list) waits in the registry for the next thread to adopt it, and foreign frees
//     keep landing on its remote list meanwhile. Memory is kept for reuse, not returned
//     to the OS: the footprint is the peak number of live frames.
#include <weft/detail/frame_allocator.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14 (Debian 12's headers lack it); older kernels answer EINVAL
#endif

#include <weft/detail/atomic.hpp>

namespace weft::detail {
namespace frames {
namespace {

#ifdef WEFT_PLAIN_FRAMES
constexpr bool kPlainFrames = true;  // every frame from operator new (see frame_allocator.hpp)
#else
constexpr bool kPlainFrames = false;
#endif

// A pool's first slab is populated a little at a time, from 64 KiB doubling: a worker that
// only ever holds a few hundred frames (a fork-join tree is as deep as it is wide here)
// never pays for populating 2 MiB, which on this kind of guest takes ~3.5 ms (fresh guest
// pages fault in the host): a tenth of fib(30) on one worker.
constexpr std::size_t kFirstPopulateBytes = std::size_t{64} << 10;
static_assert(sizeof(SlabHeader) + (kClasses + 1) * kGranule <= kFirstPopulateBytes,
              "the largest pooled block must fit the first populated part");

// Later slabs are marked for transparent huge pages and populated by the kernel in one
// call: a burst of spawns then takes no page fault per 4 KiB of new frames, which on a
// paravirtualised guest costs microseconds each (spawn of 1M tasks: 48k faults were most
// of its time; 756 -> 260-370 ms). Where huge pages or MADV_POPULATE_WRITE are not
// available the slab is still valid and fills by ordinary faults.
void* map_aligned_slab() {
    const std::size_t mapped = 2 * kSlabBytes;  // room to align
    void* raw = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    auto begin = reinterpret_cast<std::uintptr_t>(raw);
    std::uintptr_t slab = (begin + kSlabBytes - 1) & ~(kSlabBytes - 1);
    if (slab > begin) ::munmap(raw, slab - begin);
    if (std::uintptr_t end = begin + mapped, tail = slab + kSlabBytes; end > tail)
        ::munmap(reinterpret_cast<void*>(tail), end - tail);
    return reinterpret_cast<void*>(slab);
}

// A thread's pool: its local lists (the inline fast path's part) plus what only this
// file touches.
struct FramePool : LocalLists {
    alignas(kCacheLine) Atomic<FreeBlock*> remote{nullptr};

    // Takes every remotely freed block back onto the local lists.
    void reclaim_remote() noexcept {
        FreeBlock* block = remote.exchange(nullptr, memory_order_acquire);
        while (block) {
            FreeBlock* next = block->next;
            block->next = head[block->size_class];
            head[block->size_class] = block;
            block = next;
        }
    }

    // Carves a new block; the slab's tail that does not fit is simply left unused.
    void* carve(std::size_t bytes) {
        if (static_cast<std::size_t>(slab_end - slab_cursor) < bytes) add_slab();
        if (static_cast<std::size_t>(populated_end - slab_cursor) < bytes) populate_more();
        void* block = slab_cursor;
        slab_cursor += bytes;
        return block;
    }

    void add_slab() {
        void* slab = map_aligned_slab();
        const bool first = slabs.empty();
        slabs.push_back(slab);
        slab_cursor = static_cast<char*>(slab);
        slab_end = slab_cursor + kSlabBytes;
        if (first) {
            populated_end = slab_cursor;
            populate_more();
        } else {
            ::madvise(slab, kSlabBytes, MADV_HUGEPAGE);
            ::madvise(slab, kSlabBytes, MADV_POPULATE_WRITE);
            populated_end = slab_end;
        }
        new (slab) SlabHeader{this};
        slab_cursor += sizeof(SlabHeader);
    }

    void populate_more() {
        const std::size_t bytes = std::min(next_populate_bytes, static_cast<std::size_t>(slab_end - populated_end));
        ::madvise(populated_end, bytes, MADV_POPULATE_WRITE);
        populated_end += bytes;
        next_populate_bytes *= 2;
    }

    char* slab_cursor = nullptr;
    char* slab_end = nullptr;
    char* populated_end = nullptr;  // (only a hint of what is faulted in already)
    std::size_t next_populate_bytes = kFirstPopulateBytes;
    std::vector<void*> slabs;  // kept reachable; never unmapped (protocol step 3)
};

// Pools outlive their threads (see protocol step 3); idle ones wait here for a new thread.
class PoolRegistry {
public:
    FramePool* adopt() {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            FramePool* pool = idle_.back();
            idle_.pop_back();
            return pool;
        }
        return new FramePool();  // never freed: see protocol step 3
    }
    void retire(FramePool* pool) {
        std::lock_guard lock(mutex_);
        idle_.push_back(pool);
    }

private:
    std::mutex mutex_;
    std::vector<FramePool*> idle_;
};

PoolRegistry& registry() {
    static auto* instance = new PoolRegistry();  // intentionally immortal
    return *instance;
}

struct PoolLease {
    ~PoolLease() {
        if (tls_lists) registry().retire(static_cast<FramePool*>(std::exchange(tls_lists, nullptr)));
    }
};

[[gnu::noinline]] FramePool* adopt_pool() {
    static thread_local PoolLease lease;  // retires the pool when this thread exits
    (void)lease;
    FramePool* pool = registry().adopt();
    tls_lists = pool;
    return pool;
}

FramePool* this_thread_pool() {
    LocalLists* lists = tls_lists;
    return lists ? static_cast<FramePool*>(lists) : adopt_pool();
}

}  // namespace

void* allocate_slow(std::size_t size) {
    const std::size_t size_class = size_class_of(size);
    if (kPlainFrames || size_class > kClasses) return ::operator new(size);

    FramePool* pool = this_thread_pool();
    FreeBlock* block = pool->head[size_class];
    if (!block) {
        pool->reclaim_remote();
        block = pool->head[size_class];
    }
    if (block) {
        pool->head[size_class] = block->next;
        return block;
    }
    return pool->carve(size_class * kGranule);
}

void prepare_this_thread() noexcept {
#ifndef WEFT_PLAIN_FRAMES
    try {
        FramePool* pool = this_thread_pool();
        if (pool->slabs.empty()) pool->add_slab();
    } catch (const std::bad_alloc&) {
        // Only an early start missed: the first spawn tries again, and reports it.
    }
#endif
}

void free_slow(void* frame, std::size_t size) noexcept {
    const std::size_t size_class = size_class_of(size);
    if (kPlainFrames || size_class > kClasses) {
        ::operator delete(frame, size);
        return;
    }
    // Not this thread's (the inline free_frame took those): the owner's remote list.
    auto* block = static_cast<FreeBlock*>(frame);
    block->size_class = size_class;
    auto* pool = static_cast<FramePool*>(owner_of(frame));
    FreeBlock* head = pool->remote.load(memory_order_relaxed);
    do {
        block->next = head;
    } while (!pool->remote.compare_exchange_weak(head, block, memory_order_release, memory_order_relaxed));
}

}  // namespace frames
}  // namespace weft::detail
