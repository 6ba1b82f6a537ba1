// weft::all_tasks(): the tasks of a runtime that have not finished (asyncio.all_tasks()).
//
//   weft::Runtime rt({.track_tasks = true});   // opt-in: see below
//   ...
//   for (const weft::TaskSnapshot& task : weft::all_tasks())
//       spdlog::info("task {} '{}'", task.id(), task.name());
//   for (const weft::TaskSnapshot& task : weft::all_tasks())
//       if (task.id() != weft::current_task().id()) task.cancel("shutting down");
//
// A runtime keeps this list only when built with RuntimeOptions::track_tasks; all_tasks()
// throws UsageError otherwise. Why opt-in rather than always on or built on ext::TaskHooks:
// a list of live tasks costs a locked insert per spawn and a locked erase per frame freed,
// which every spawn-heavy program would pay; and TaskHooks exist only in WEFT_HOOKS builds
// (and are one process-wide slot a user may want for their own hooks). Opt-in per runtime
// keeps spawn's fast path as it is when off (spawn tests the one flag it already tests for
// ContextVar, context_inherit.hpp) and works in every build.
//
// The list holds tasks spawned (weft::spawn, Runtime::spawn, TaskGroup, gather's members...)
// and not finished yet, started or not, including the caller. A snapshot is a value: its id,
// name and cancelling() are those of the moment all_tasks() looked; cancel() and done() look
// the task up again, so they are safe to call even after the task finished and its frame was
// freed (they then return false and true). Where weft differs from asyncio: asyncio returns the
// Task objects themselves (refcounted); a weft task's frame belongs to its JoinHandle, so a
// snapshot names the task instead of owning it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace weft {

class Runtime;

namespace detail {
class TaskRegistry;
}

/// One live task as all_tasks() saw it (see above).
///
///   auto tasks = weft::all_tasks();
///   std::erase_if(tasks, [](auto& t) { return t.name() != "worker"; });
///   for (auto& t : tasks) t.cancel("scaling down");
class TaskSnapshot {
public:
    TaskSnapshot(std::shared_ptr<detail::TaskRegistry> registry, std::uint64_t id, std::string name,
                 std::uint32_t cancelling, const void* entry) noexcept
        : registry_(std::move(registry)), id_(id), name_(std::move(name)), cancelling_(cancelling), entry_(entry) {}

    std::uint64_t id() const noexcept { return id_; }
    std::string_view name() const noexcept { return name_; }
    /// TaskRef::cancelling() when the snapshot was taken.
    std::uint32_t cancelling() const noexcept { return cancelling_; }
    /// TaskRef::cancel(): false if it has finished since.
    bool cancel() const;
    bool cancel(std::string_view message) const;
    /// True once it has finished (or its frame was freed).
    bool done() const;

private:
    std::shared_ptr<detail::TaskRegistry> registry_;
    std::uint64_t id_;
    std::string name_;
    std::uint32_t cancelling_;
    const void* entry_;  // its registry entry when listed (the registry checks it still is)
};

/// The unfinished tasks of the runtime running this task (UsageError outside a task, or when
/// its runtime was built without RuntimeOptions::track_tasks).
std::vector<TaskSnapshot> all_tasks();
/// The same for `runtime`, from any thread.
std::vector<TaskSnapshot> all_tasks(Runtime& runtime);

}  // namespace weft
