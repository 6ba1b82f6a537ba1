// The list behind all_tasks() (all_tasks.hpp) and the dumps (task_dump.hpp): one per runtime
// built with track_tasks (or task_registry / debug).
//
// A task is inserted by spawn_extras() before it is published, with its id, and erased by
// ~TaskExtras when its frame is freed. Both take its shard's mutex, so while all_tasks() (or a
// snapshot's cancel(), or a dump) holds it no frame listed there can be freed: the TaskHeader*
// it finds is valid until it lets go. Finished tasks whose JoinHandle still holds the frame stay
// listed until then and are filtered out by their join word. A listed task's name is written
// under the mutex too (set_name): spawn() lists a task before launch() names it.
//
// Each shard keeps its entries in an intrusive list, taken from and returned to the shard's own
// free list (blocks of kBlock entries, freed with the registry): a task costs no allocation and
// no hashing here (an unordered_map's rehashing and nodes were a fifth of a spawn's time with the
// registry on). The memory of an entry stays an Entry while the registry lives, so a snapshot
// may keep its address and later check, under the lock, that it still holds the same task id
// (ids are never reused). The task's extras point at the entry's trace.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <source_location>
#include <type_traits>
#include <vector>

#include <weft/detail/task_header.hpp>
#include <weft/detail/task_trace.hpp>

namespace weft::detail {

class TaskRegistry {
public:
    struct Entry {
        TaskTrace trace;  // first: the trace's address is the entry's (entry_of)
        std::uint64_t id = 0;  // 0: free
        TaskHeader* task = nullptr;
        Entry* prev = nullptr;
        Entry* next = nullptr;
    };

    // Lists `task`, spawned at `where` by task `parent` (written under the lock: dumps read
    // them); returns its trace (valid until erase()). std::bad_alloc when a shard must grow.
    TaskTrace* insert(std::uint64_t id, TaskHeader* task, const std::source_location& where = {},
                      std::uint64_t parent = 0) {
        Shard& shard = shard_of(id);
        std::lock_guard lock(shard.mutex);
        if (!shard.free) shard.grow();
        Entry* entry = shard.free;
        shard.free = entry->next;
        reset(entry->trace, where, parent);
        entry->id = id;
        entry->task = task;
        entry->prev = nullptr;
        entry->next = shard.live;
        if (shard.live) shard.live->prev = entry;
        shard.live = entry;
        return &entry->trace;
    }
    // Unlists task `id`, whose trace insert() returned.
    void erase(std::uint64_t id, TaskTrace* trace) noexcept {
        Entry* entry = entry_of(trace);
        Shard& shard = shard_of(id);
        std::lock_guard lock(shard.mutex);
        (entry->prev ? entry->prev->next : shard.live) = entry->next;
        if (entry->next) entry->next->prev = entry->prev;
        entry->id = 0;
        entry->task = nullptr;
        entry->prev = nullptr;
        entry->next = shard.free;
        shard.free = entry;
    }
    // Calls fn(id, const Entry&) for each listed task, under its shard's lock (fn must not spawn
    // or free tasks).
    template <class Fn>
    void for_each_entry(Fn&& fn) {
        for (Shard& shard : shards_) {
            std::lock_guard lock(shard.mutex);
            for (Entry* entry = shard.live; entry; entry = entry->next)
                fn(entry->id, static_cast<const Entry&>(*entry));
        }
    }
    // fn() under task `id`'s lock: a listed task's spawner naming it (launch names a task after
    // spawn_extras() listed it, and all_tasks() reads names).
    template <class Fn>
    void locked(std::uint64_t id, Fn&& fn) {
        std::lock_guard lock(shard_of(id).mutex);
        fn();
    }
    // fn(TaskHeader* or nullptr) for task `id`, whose entry was `entry` when it was listed (an
    // Entry address for_each_entry gave, kept opaque by TaskSnapshot), under its lock: nullptr
    // once the task is unlisted.
    template <class Fn>
    auto with(const void* entry, std::uint64_t id, Fn&& fn) {
        const Entry* listed = static_cast<const Entry*>(entry);
        std::lock_guard lock(shard_of(id).mutex);
        return fn(listed && listed->id == id ? listed->task : nullptr);
    }

private:
    static_assert(std::is_standard_layout_v<Entry>, "entry_of() needs the trace at the entry's address");
    static Entry* entry_of(TaskTrace* trace) noexcept { return reinterpret_cast<Entry*>(trace); }
    static void reset(TaskTrace& trace, const std::source_location& where, std::uint64_t parent) noexcept {
        trace.where = where;
        trace.parent = parent;
        trace.await_kind.store(0, memory_order_relaxed);
        trace.await_what.store(nullptr, memory_order_relaxed);
        trace.await_object.store(nullptr, memory_order_relaxed);
        trace.await_arg.store(0, memory_order_relaxed);
        trace.scope_deadline.store(0, memory_order_relaxed);
        trace.worker.store(-1, memory_order_relaxed);
        trace.resumes.store(0, memory_order_relaxed);
        trace.busy_ns.store(0, memory_order_relaxed);
    }

    // Sharded so that workers listing and freeing tasks do not contend: a thread takes task
    // ids in blocks of 1024 (task_header.cpp), so the tasks one worker spawns mostly share a
    // shard that other workers rarely touch.
    static constexpr std::size_t kShards = 32;
    static constexpr std::size_t kBlock = 256;  // entries a shard adds when its free list is empty
    struct alignas(64) Shard {
        std::mutex mutex;
        Entry* live = nullptr;  // listed tasks
        Entry* free = nullptr;  // entries to reuse
        std::vector<std::unique_ptr<Entry[]>> blocks;
        void grow() {  // under the mutex
            blocks.push_back(std::make_unique<Entry[]>(kBlock));
            Entry* block = blocks.back().get();
            for (std::size_t i = 0; i < kBlock; ++i) {
                block[i].next = free;
                free = &block[i];
            }
        }
    };
    Shard& shard_of(std::uint64_t id) noexcept { return shards_[(id >> 10) % kShards]; }
    Shard shards_[kShards];
};

}  // namespace weft::detail
