// Seeing inside a running runtime: every live task and what it awaits (asyncio's `ps` and
// `pstree`, Python 3.14), as a tree, a table and JSON.
//
//   weft::Runtime rt({.task_registry = true});   // or .debug = true, or WEFT_DEBUG=1
//   ...
//   weft::RuntimeDump d = rt.dump();             // from any thread
//   std::puts(d.tree().c_str());
//   // runtime 'weft' (2 workers, 3 tasks)
//   // └─ #1 'block_on' suspended, awaiting task #1025 (weft/run.hpp:99)
//   //    └─ #1025 'fetch' suspended, awaiting socket fd 7 read (crawler.cpp:40)
//   //       ...
//   // inside a task: weft::dump() (the runtime running it)
//
// From outside the process: the control socket (RuntimeOptions::control_socket or
// WEFT_CONTROL=path; tools/weft-ps, tools/weft-pstree) and SIGUSR1 (the tree goes to the log).
//
// What a task awaits is recorded by weft's own awaitables when they suspend: sleep, the sync
// primitives (lock, semaphore, event, condition, queue; barrier, latch, future as "other"), a
// socket (fd and direction), a child task (its id), a TaskGroup/gather/wait ("task", no id),
// an offloaded or compute call ("offload"), and the deadline of the innermost timeout scope it
// awaits under ("timeout_ms"). An awaitable of your own shows as "other" with no detail.
//
// The tree follows who spawned whom (a task whose spawner has finished is a root), each line
// saying what the task awaits; asyncio's pstree follows who awaits whom instead. In weft a
// parent awaiting its child is both, so the await chains read the same: parent → child → … →
// the leaf awaitable. A child awaited right after spawn runs inline in its parent (the
// fork-join fast path); it then shows as a task of its own, and the parent as awaiting it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace weft {

class Runtime;

/// One live task in a dump.
///
///   for (const weft::DumpedTask& t : rt.dump().tasks)
///       if (t.await_kind == "lock") spdlog::info("#{} '{}' waits for {}", t.id, t.name, t.await_detail);
struct DumpedTask {
    std::uint64_t id = 0;
    std::string name;           // empty: spawned without one
    std::string state;          // "scheduled", "running" or "suspended"
    int worker = -1;            // the worker that last ran it (-1: never ran)
    std::uint64_t parent = 0;   // the task that spawned it (0: spawned from a plain thread)
    std::string spawned_at;     // "file.cpp:42"
    std::uint64_t resumes = 0;  // times a worker resumed it
    std::uint64_t busy_ns = 0;  // time spent running
    // What it awaits when suspended: sleep, lock, semaphore, event, condition, queue, socket,
    // task, offload, timeout, other; "none" when it is not suspended.
    std::string await_kind = "none";
    std::string await_detail;      // human words: "until +950 ms", "fd 7 read", "weft::Lock::lock() 0x..."
    std::uint64_t await_task = 0;  // await_kind "task": the awaited task's id (0: several)
    std::int64_t timeout_ms = -1;  // the innermost timeout scope's deadline from now (-1: none)
};

/// A runtime's tasks at one moment (Runtime::dump(), weft::dump()).
struct RuntimeDump {
    std::string runtime;  // RuntimeOptions::name
    unsigned workers = 0;
    std::vector<DumpedTask> tasks;  // by id

    /// The await chains as a tree (`asyncio pstree`).
    std::string tree() const;
    /// One line per task (`asyncio ps`).
    std::string table() const;
    /// {"runtime":{"name":..,"workers":N},"tasks":[{"id":..,"name":..,"state":..,"worker":..,
    ///  "parent":..,"spawned_at":..,"resumes":..,"busy_ns":..,"awaiting":{"kind":..,"detail":..
    ///  [,"task":id][,"timeout_ms":..]}}, ...]}
    std::string json() const;
};

/// The dump of the runtime running the current task (UsageError outside a task, or when its
/// runtime keeps no task registry).
RuntimeDump dump();

}  // namespace weft
