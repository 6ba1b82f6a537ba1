// Per-thread recycling pools for coroutine frames (see frame_allocator.hpp).
//
// Block layout: [BlockPrefix (16 bytes)][frame ...]. The prefix names the owning pool
// and the size class, so a frame can be freed from any thread.
//
// New blocks are carved from 2 MiB slabs (see map_slab), so a burst of a million spawns
// costs a few hundred mmaps, not a million mallocs.
//
// Protocol for remote frees and thread exit:
//  1. A foreign free pushes the block onto owner->remote with a CAS (Treiber push).
//  2. The owner takes the whole list with exchange(nullptr): no ABA, no lock.
//  3. Pools are immortal: at thread exit a pool (its free blocks, its slabs, its remote
//     list) waits in the registry for the next thread to adopt it, and foreign frees
//     keep landing on its remote list meanwhile. Memory is kept for reuse, not returned
//     to the OS: the footprint is the peak number of live frames.
#include <weft/detail/frame_allocator.hpp>

#include <array>
#include <cstdlib>
#include <cstdint>
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
namespace {

constexpr std::size_t kPrefix = 16;
constexpr std::size_t kGranule = 16;  // fine classes: frames pack densely (fewer first-touch faults)
constexpr std::size_t kClasses = 256;  // blocks up to 4 KiB are pooled
constexpr std::size_t kLargeClass = 0;

struct FreeBlock {
    FreeBlock* next;
};

struct FramePool;

struct alignas(16) BlockPrefix {
    FramePool* owner;
    std::size_t size_class;  // kLargeClass: not pooled
};
static_assert(sizeof(BlockPrefix) == kPrefix);

constexpr std::size_t kSlabBytes = std::size_t{2} << 20;

// Slabs are 2 MiB-aligned, marked for transparent huge pages and populated by the kernel
// in one call: a burst of spawns then takes no page fault per 4 KiB of new frames, which
// on a paravirtualised guest costs microseconds each (spawn of 1M tasks: 48k faults were
// most of its time; 756 -> 260-370 ms). Where huge pages or MADV_POPULATE_WRITE are not
// available the slab is still valid and fills by ordinary faults.
void* map_slab() {
    constexpr std::size_t kMapped = 2 * kSlabBytes;  // room to align, the rest given back
    void* raw = ::mmap(nullptr, kMapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    auto begin = reinterpret_cast<std::uintptr_t>(raw);
    std::uintptr_t slab = (begin + kSlabBytes - 1) & ~(kSlabBytes - 1);
    if (slab > begin) ::munmap(raw, slab - begin);
    if (std::uintptr_t end = begin + kMapped, tail = slab + kSlabBytes; end > tail)
        ::munmap(reinterpret_cast<void*>(tail), end - tail);
    void* result = reinterpret_cast<void*>(slab);
    ::madvise(result, kSlabBytes, MADV_HUGEPAGE);
    ::madvise(result, kSlabBytes, MADV_POPULATE_WRITE);
    return result;
}

struct FramePool {
    std::array<FreeBlock*, kClasses + 1> local{};  // owner only; blocks hold their prefix
    alignas(kCacheLine) Atomic<FreeBlock*> remote{nullptr};

    // Takes every remotely freed block back onto the local lists.
    void reclaim_remote() noexcept {
        FreeBlock* block = remote.exchange(nullptr, memory_order_acquire);
        while (block) {
            FreeBlock* next = block->next;
            auto* prefix = reinterpret_cast<BlockPrefix*>(reinterpret_cast<char*>(block) - kPrefix);
            block->next = local[prefix->size_class];
            local[prefix->size_class] = block;
            block = next;
        }
    }

    // Carves a new block; the slab's tail that does not fit is simply left unused.
    void* carve(std::size_t bytes) {
        if (static_cast<std::size_t>(slab_end - slab_cursor) < bytes) {
            void* slab = map_slab();
            slabs.push_back(slab);
            slab_cursor = static_cast<char*>(slab);
            slab_end = slab_cursor + kSlabBytes;
        }
        void* block = slab_cursor;
        slab_cursor += bytes;
        return block;
    }

    char* slab_cursor = nullptr;
    char* slab_end = nullptr;
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

thread_local FramePool* tls_pool = nullptr;

struct PoolLease {
    ~PoolLease() {
        if (tls_pool) registry().retire(std::exchange(tls_pool, nullptr));
    }
};

[[gnu::noinline]] FramePool* adopt_pool() {
    static thread_local PoolLease lease;  // retires the pool when this thread exits
    (void)lease;
    tls_pool = registry().adopt();
    return tls_pool;
}

inline FramePool* this_thread_pool() {
    FramePool* pool = tls_pool;
    return pool ? pool : adopt_pool();
}

inline std::size_t size_class_of(std::size_t size) noexcept { return (size + kPrefix + kGranule - 1) / kGranule; }

void* to_frame(void* block, FramePool* owner, std::size_t size_class) noexcept {
    auto* prefix = static_cast<BlockPrefix*>(block);
    prefix->owner = owner;
    prefix->size_class = size_class;
    return static_cast<char*>(block) + kPrefix;
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_PLAIN_FRAMES 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_PLAIN_FRAMES 1
#endif
#endif

void* allocate_frame(std::size_t size) {
#ifdef WEFT_PLAIN_FRAMES  // let AddressSanitizer see every frame's lifetime
    return to_frame(::operator new(size + kPrefix), nullptr, kLargeClass);
#endif
    std::size_t size_class = size_class_of(size);
    if (size_class > kClasses) return to_frame(::operator new(size + kPrefix), nullptr, kLargeClass);

    FramePool* pool = this_thread_pool();
    FreeBlock* block = pool->local[size_class];
    if (!block) {
        pool->reclaim_remote();
        block = pool->local[size_class];
    }
    if (block) {
        pool->local[size_class] = block->next;
        return block;  // the prefix in front of it is still valid
    }
    return to_frame(pool->carve(size_class * kGranule), pool, size_class);
}

void free_frame(void* frame, std::size_t) noexcept {
    auto* prefix = reinterpret_cast<BlockPrefix*>(static_cast<char*>(frame) - kPrefix);
    FramePool* owner = prefix->owner;
    if (!owner) {
        ::operator delete(prefix);
        return;
    }
    auto* block = static_cast<FreeBlock*>(frame);
    if (owner == tls_pool) {
        block->next = owner->local[prefix->size_class];
        owner->local[prefix->size_class] = block;
        return;
    }
    FreeBlock* head = owner->remote.load(memory_order_relaxed);
    do {
        block->next = head;
    } while (!owner->remote.compare_exchange_weak(head, block, memory_order_release, memory_order_relaxed));
}

}  // namespace weft::detail
