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
// Each entry holds the task's TaskTrace (task_trace.hpp) in the map's node, whose address is
// stable until the entry is erased; the task's extras point at it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <source_location>
#include <unordered_map>

#include <weft/detail/task_header.hpp>
#include <weft/detail/task_trace.hpp>

namespace weft::detail {

class TaskRegistry {
public:
    struct Entry {
        TaskHeader* task = nullptr;
        TaskTrace trace;
    };

    // Lists `task`, spawned at `where` by task `parent` (written under the lock: dumps read
    // them); returns its trace (valid until erase(id)).
    TaskTrace* insert(std::uint64_t id, TaskHeader* task, const std::source_location& where = {},
                      std::uint64_t parent = 0) {
        Shard& shard = shard_of(id);
        std::lock_guard lock(shard.mutex);
        Entry& entry = shard.tasks[id];
        entry.task = task;
        entry.trace.where = where;
        entry.trace.parent = parent;
        return &entry.trace;
    }
    void erase(std::uint64_t id) noexcept {
        Shard& shard = shard_of(id);
        std::lock_guard lock(shard.mutex);
        shard.tasks.erase(id);
    }
    // Calls fn(TaskHeader*) for each listed task, under its shard's lock (fn must not spawn or
    // free tasks).
    template <class Fn>
    void for_each(Fn&& fn) {
        for (Shard& shard : shards_) {
            std::lock_guard lock(shard.mutex);
            for (auto& [id, entry] : shard.tasks) fn(entry.task);
        }
    }
    // Calls fn(id, const Entry&) for each listed task, under its shard's lock (as for_each).
    template <class Fn>
    void for_each_entry(Fn&& fn) {
        for (Shard& shard : shards_) {
            std::lock_guard lock(shard.mutex);
            for (auto& [id, entry] : shard.tasks) fn(id, static_cast<const Entry&>(entry));
        }
    }
    // fn() under task `id`'s lock: a listed task's spawner naming it (launch names a task after
    // spawn_extras() listed it, and all_tasks() reads names).
    template <class Fn>
    void locked(std::uint64_t id, Fn&& fn) {
        std::lock_guard lock(shard_of(id).mutex);
        fn();
    }
    // fn(TaskHeader* or nullptr) for task `id`, under its lock.
    template <class Fn>
    auto with(std::uint64_t id, Fn&& fn) {
        Shard& shard = shard_of(id);
        std::lock_guard lock(shard.mutex);
        auto it = shard.tasks.find(id);
        return fn(it == shard.tasks.end() ? nullptr : it->second.task);
    }
    // fn(const Entry* or nullptr) for task `id`, under its lock.
    template <class Fn>
    auto with_entry(std::uint64_t id, Fn&& fn) {
        Shard& shard = shard_of(id);
        std::lock_guard lock(shard.mutex);
        auto it = shard.tasks.find(id);
        return fn(it == shard.tasks.end() ? nullptr : static_cast<const Entry*>(&it->second));
    }

private:
    // Sharded so that workers listing and freeing tasks do not contend: a thread takes task
    // ids in blocks of 1024 (task_header.cpp), so the tasks one worker spawns mostly share a
    // shard that other workers rarely touch.
    static constexpr std::size_t kShards = 32;
    struct alignas(64) Shard {
        std::mutex mutex;
        std::unordered_map<std::uint64_t, Entry> tasks;
    };
    Shard& shard_of(std::uint64_t id) noexcept { return shards_[(id >> 10) % kShards]; }
    Shard shards_[kShards];
};

}  // namespace weft::detail
