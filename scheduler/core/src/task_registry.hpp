// The list behind all_tasks() (all_tasks.hpp): one per runtime built with track_tasks.
//
// A task is inserted by spawn_extras() before it is published, with its id, and erased by
// ~TaskExtras when its frame is freed. Both take the mutex, so while all_tasks() (or a
// snapshot's cancel()) holds it no listed frame can be freed: the TaskHeader* it finds is
// valid until it lets go. Finished tasks whose JoinHandle still holds the frame stay listed
// until then and are filtered out by their join word. A listed task's name is written under the
// mutex too (set_name): spawn() lists a task before launch() names it.
#pragma once

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include <weft/detail/task_header.hpp>

namespace weft::detail {

class TaskRegistry {
public:
    void insert(std::uint64_t id, TaskHeader* task) {
        std::lock_guard lock(mutex_);
        tasks_.emplace(id, task);
    }
    void erase(std::uint64_t id) noexcept {
        std::lock_guard lock(mutex_);
        tasks_.erase(id);
    }
    // Calls fn(TaskHeader*) for each listed task, under the lock (fn must not spawn or free tasks).
    template <class Fn>
    void for_each(Fn&& fn) {
        std::lock_guard lock(mutex_);
        for (auto& [id, task] : tasks_) fn(task);
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
        return fn(it == tasks_.end() ? nullptr : it->second);
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, TaskHeader*> tasks_;
};

}  // namespace weft::detail
