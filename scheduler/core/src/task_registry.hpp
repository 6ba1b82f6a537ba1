// The list behind all_tasks() (all_tasks.hpp) and the dumps (task_dump.hpp): one per runtime
// built with track_tasks (or task_registry / debug).
//
// A task is inserted by spawn_extras() before it is published, with its id, and erased by
// ~TaskExtras when its frame is freed. Both take the mutex, so while all_tasks() (or a
// snapshot's cancel(), or a dump) holds it no listed frame can be freed: the TaskHeader* it
// finds is valid until it lets go. Finished tasks whose JoinHandle still holds the frame stay
// listed until then and are filtered out by their join word. A listed task's name is written
// under the mutex too (set_name): spawn() lists a task before launch() names it.
//
// Each entry holds the task's TaskTrace (task_trace.hpp) in the map's node, whose address is
// stable until the entry is erased; the task's extras point at it.
#pragma once

#include <cstdint>
#include <mutex>
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

    // Lists `task`; returns its trace (valid until erase(id)).
    TaskTrace* insert(std::uint64_t id, TaskHeader* task) {
        std::lock_guard lock(mutex_);
        Entry& entry = tasks_[id];
        entry.task = task;
        return &entry.trace;
    }
    void erase(std::uint64_t id) noexcept {
        std::lock_guard lock(mutex_);
        tasks_.erase(id);
    }
    // Calls fn(TaskHeader*) for each listed task, under the lock (fn must not spawn or free tasks).
    template <class Fn>
    void for_each(Fn&& fn) {
        std::lock_guard lock(mutex_);
        for (auto& [id, entry] : tasks_) fn(entry.task);
    }
    // Calls fn(id, const Entry&) for each listed task, under the lock (as for_each).
    template <class Fn>
    void for_each_entry(Fn&& fn) {
        std::lock_guard lock(mutex_);
        for (auto& [id, entry] : tasks_) fn(id, static_cast<const Entry&>(entry));
    }
    // fn() under the lock: a listed task's spawner naming it (launch names a task after
    // spawn_extras() listed it, and all_tasks() reads names).
    template <class Fn>
    void locked(Fn&& fn) {
        std::lock_guard lock(mutex_);
        fn();
    }
    // fn(TaskHeader* or nullptr) for task `id`, under the lock.
    template <class Fn>
    auto with(std::uint64_t id, Fn&& fn) {
        std::lock_guard lock(mutex_);
        auto it = tasks_.find(id);
        return fn(it == tasks_.end() ? nullptr : it->second.task);
    }
    // fn(const Entry* or nullptr) for task `id`, under the lock.
    template <class Fn>
    auto with_entry(std::uint64_t id, Fn&& fn) {
        std::lock_guard lock(mutex_);
        auto it = tasks_.find(id);
        return fn(it == tasks_.end() ? nullptr : static_cast<const Entry*>(&it->second));
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, Entry> tasks_;
};

}  // namespace weft::detail
