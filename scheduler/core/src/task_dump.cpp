// Runtime::dump() and its three forms (task_dump.hpp).
#include <weft/task_dump.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string_view>
#include <unordered_map>

#include <weft/detail/task_header.hpp>
#include <weft/detail/task_trace.hpp>
#include <weft/error.hpp>
#include <weft/runtime.hpp>

#include "inspector.hpp"
#include "runtime_core.hpp"
#include "task_registry.hpp"
#include "worker_trace.hpp"

namespace weft {

namespace detail {

namespace {

namespace ts = task_state;

std::string_view base_name(std::string_view path) {
    std::size_t slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// A sync primitive's kind, from the name its awaiter gives (waiter_queue.hpp).
std::string_view primitive_kind(std::string_view what) {
    if (what.find("Lock") != std::string_view::npos) return "lock";
    if (what.find("Semaphore") != std::string_view::npos) return "semaphore";
    if (what.find("Event") != std::string_view::npos) return "event";
    if (what.find("Condition") != std::string_view::npos) return "condition";
    if (what.find("queue") != std::string_view::npos || what.find("Queue") != std::string_view::npos) return "queue";
    return "other";
}

std::string in_ms(std::int64_t deadline_ns, std::int64_t now_ns) {
    std::int64_t ms = (deadline_ns - now_ns) / 1'000'000;
    return ms >= 0 ? fmt::format("+{} ms", ms) : fmt::format("{} ms ago", -ms);
}

void describe_await(DumpedTask& info, const TaskTrace& trace, std::int64_t now_ns) {
    auto kind = static_cast<AwaitKind>(trace.await_kind.load(memory_order_relaxed));
    const char* what = trace.await_what.load(memory_order_relaxed);
    const void* object = trace.await_object.load(memory_order_relaxed);
    std::uint64_t arg = trace.await_arg.load(memory_order_relaxed);
    switch (kind) {
        case AwaitKind::none:
            info.await_kind = "other";
            break;
        case AwaitKind::sleep:
            info.await_kind = "sleep";
            info.await_detail = "until " + in_ms(static_cast<std::int64_t>(arg), now_ns);
            break;
        case AwaitKind::primitive:
            info.await_kind = primitive_kind(what ? what : "");
            info.await_detail = fmt::format("{} {}", what ? what : "?", object);
            break;
        case AwaitKind::socket:
            info.await_kind = "socket";
            info.await_detail = fmt::format("fd {} {}", arg >> 1, (arg & 1) ? "write" : "read");
            break;
        case AwaitKind::task:
            info.await_kind = "task";
            info.await_task = arg;
            info.await_detail = fmt::format("task #{}", arg);
            break;
        case AwaitKind::tasks:
            info.await_kind = "task";
            info.await_detail = fmt::format("{} (its tasks)", what ? what : "tasks");
            break;
        case AwaitKind::offload:
            info.await_kind = "offload";
            info.await_detail = what ? what : "offload";
            break;
        case AwaitKind::other:
            info.await_kind = "other";
            info.await_detail = what ? what : "";
            break;
    }
    if (std::int64_t deadline = trace.scope_deadline.load(memory_order_relaxed))
        info.timeout_ms = std::max<std::int64_t>(0, (deadline - now_ns) / 1'000'000);
}

std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

std::string display_name(const DumpedTask& task) { return task.name.empty() ? "(unnamed)" : "'" + task.name + "'"; }

std::string awaiting_words(const DumpedTask& task) {
    if (task.state != "suspended") return task.state;
    std::string out = "suspended, awaiting ";
    if (task.await_kind == "task" && task.await_detail.starts_with("task #")) {
        out += task.await_detail;  // "task #12"
    } else {
        out += task.await_kind;
        if (!task.await_detail.empty()) out += " " + task.await_detail;
    }
    if (task.timeout_ms >= 0) out += fmt::format(" (timeout in {} ms)", task.timeout_ms);
    return out;
}

}  // namespace

RuntimeDump collect_dump(RuntimeCore& core) {
    const std::shared_ptr<TaskRegistry>& registry = core.task_registry();
    if (!registry || !core.options().task_registry)
        throw UsageError("weft dump: runtime '" + core.options().name +
                         "' keeps no task registry (build it with RuntimeOptions{.task_registry = true}, "
                         ".debug = true, a control socket, or WEFT_DEBUG=1)");
    RuntimeDump dump;
    dump.runtime = core.options().name;
    dump.workers = core.worker_count();
    const auto now_ns = static_cast<std::int64_t>(steady_ns());
    // Read under each shard's lock (an entry's frame cannot be freed meanwhile); another shard's
    // task is only compared by address, never dereferenced, as it may be gone by then.
    struct Raw {
        const TaskHeader* self;
        const TaskHeader* host;  // a child running inline in `host` (the fork-join fast path)
        std::uint64_t state;
    };
    std::vector<Raw> raw;
    registry->for_each_entry([&](std::uint64_t id, const TaskRegistry::Entry& entry) {
        const TaskHeader* task = entry.task;
        std::uintptr_t join = task->join_waiter.load(memory_order_acquire);
        if (join == kJoinClosed || join == kJoinClosing) return;  // finished, its handle holds it
        std::uint64_t state = task->state.load(memory_order_acquire);
        if (state & ts::kComplete) return;
        DumpedTask info;
        info.id = id;
        info.name = std::string(task->name_view());
        const TaskTrace& trace = entry.trace;
        info.worker = trace.worker.load(memory_order_relaxed);
        info.parent = trace.parent;
        if (trace.where.file_name() && *trace.where.file_name())
            info.spawned_at = fmt::format("{}:{}", base_name(trace.where.file_name()), trace.where.line());
        info.resumes = trace.resumes.load(memory_order_relaxed);
        info.busy_ns = trace.busy_ns.load(memory_order_relaxed);
        describe_await(info, trace, now_ns);  // (kept below only if it turns out suspended)
        raw.push_back({task, task->inline_host.load(memory_order_acquire), state});
        dump.tasks.push_back(std::move(info));
    });
    std::unordered_map<const TaskHeader*, std::size_t> index_of;
    for (std::size_t i = 0; i < raw.size(); ++i) index_of[raw[i].self] = i;
    // Children running inline: id -> host id. Their joins record nothing (no suspension of
    // their own), so the chains are rebuilt below. Such a child runs and suspends as its host.
    std::unordered_map<std::uint64_t, std::uint64_t> inlined_in;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        std::uint64_t state = raw[i].state;
        if (raw[i].host) {
            if (auto it = index_of.find(raw[i].host); it != index_of.end()) {
                state = raw[it->second].state;
                inlined_in[dump.tasks[i].id] = dump.tasks[it->second].id;
            }
        }
        DumpedTask& info = dump.tasks[i];
        info.state = (state & ts::kRunning) ? "running" : (state & ts::kScheduled) ? "scheduled" : "suspended";
        if (info.state != "suspended") {
            info.await_kind = "none";
            info.await_detail.clear();
            info.await_task = 0;
            info.timeout_ms = -1;
        }
    }
    // Who awaits an inlined child: its spawner when that is the host or inlined in it (the
    // usual `co_await spawn(...)`), else the host.
    if (!inlined_in.empty()) {
        std::unordered_map<std::uint64_t, DumpedTask*> by_id;
        for (DumpedTask& info : dump.tasks) by_id[info.id] = &info;
        for (auto [child, host] : inlined_in) {
            auto child_it = by_id.find(child);
            if (child_it == by_id.end()) continue;
            std::uint64_t parent = child_it->second->parent;
            auto parent_host = inlined_in.find(parent);
            std::uint64_t awaiter =
                parent == host || (parent_host != inlined_in.end() && parent_host->second == host) ? parent : host;
            auto it = by_id.find(awaiter);
            if (it == by_id.end() || it->second->state != "suspended") continue;
            DumpedTask& info = *it->second;
            info.await_kind = "task";
            info.await_task = child;
            info.await_detail = fmt::format("task #{}", child);
        }
    }
    std::sort(dump.tasks.begin(), dump.tasks.end(),
              [](const DumpedTask& a, const DumpedTask& b) { return a.id < b.id; });
    return dump;
}

}  // namespace detail

std::string RuntimeDump::table() const {
    std::string out = fmt::format("{:>8} {:>8} {:<10} {:>6} {:>8} {:>9}  {:<20} {:<44} {}\n", "ID", "PARENT", "STATE",
                                  "WORKER", "RESUMES", "BUSY_MS", "NAME", "AWAITING", "SPAWNED AT");
    for (const DumpedTask& task : tasks) {
        std::string awaiting = task.state == "suspended" ? task.await_kind : "-";
        if (task.state == "suspended" && !task.await_detail.empty()) awaiting += " " + task.await_detail;
        if (task.timeout_ms >= 0) awaiting += fmt::format(" (timeout in {} ms)", task.timeout_ms);
        out += fmt::format("{:>8} {:>8} {:<10} {:>6} {:>8} {:>9.3f}  {:<20} {:<44} {}\n", task.id, task.parent,
                           task.state, task.worker, task.resumes, static_cast<double>(task.busy_ns) / 1e6,
                           task.name.empty() ? "-" : task.name, awaiting, task.spawned_at);
    }
    return out;
}

std::string RuntimeDump::tree() const {
    std::unordered_map<std::uint64_t, std::vector<const DumpedTask*>> children;
    std::unordered_map<std::uint64_t, const DumpedTask*> by_id;
    for (const DumpedTask& task : tasks) by_id[task.id] = &task;
    std::vector<const DumpedTask*> roots;
    for (const DumpedTask& task : tasks) {
        if (task.parent != 0 && task.parent != task.id && by_id.contains(task.parent)) {
            children[task.parent].push_back(&task);
        } else {
            roots.push_back(&task);
        }
    }
    std::string out = fmt::format("runtime '{}' ({} workers, {} tasks)\n", runtime, workers, tasks.size());
    // Iterative depth-first walk (a deep chain of children must not overflow the stack).
    struct Item {
        const DumpedTask* task;
        std::string prefix;
        bool last;
    };
    std::vector<Item> stack;
    for (std::size_t i = roots.size(); i-- > 0;) stack.push_back({roots[i], "", i + 1 == roots.size()});
    std::size_t guard = 0;
    while (!stack.empty() && guard++ <= tasks.size()) {
        Item item = std::move(stack.back());
        stack.pop_back();
        const DumpedTask& task = *item.task;
        out += fmt::format("{}{}#{} {} {}", item.prefix, item.last ? "└─ " : "├─ ", task.id, detail::display_name(task),
                           detail::awaiting_words(task));
        if (!task.spawned_at.empty()) out += " (" + task.spawned_at + ")";
        out += '\n';
        auto it = children.find(task.id);
        if (it == children.end()) continue;
        std::string prefix = item.prefix + (item.last ? "   " : "│  ");
        const auto& kids = it->second;
        for (std::size_t i = kids.size(); i-- > 0;) stack.push_back({kids[i], prefix, i + 1 == kids.size()});
    }
    return out;
}

std::string RuntimeDump::json() const {
    std::string out =
        fmt::format("{{\"runtime\":{{\"name\":{},\"workers\":{}}},\"tasks\":[", detail::json_string(runtime), workers);
    bool first = true;
    for (const DumpedTask& task : tasks) {
        if (!first) out += ',';
        first = false;
        out +=
            fmt::
                format(
                    "{{\"id\":{},\"name\":{},\"state\":\"{}\",\"worker\":{},\"parent\":{},\"spawned_at\":{},"
                    "\"resumes\":{}," "\"busy_ns\":{},\"awaiting\":{{\"kind\":\"{}\",\"detail\":{}",
                    task.id, detail::json_string(task.name), task.state, task.worker, task.parent,
                    detail::json_string(task.spawned_at), task.resumes, task.busy_ns, task.await_kind,
                    detail::json_string(task.await_detail));
        if (task.await_kind == "task" && task.await_task) out += fmt::format(",\"task\":{}", task.await_task);
        if (task.timeout_ms >= 0) out += fmt::format(",\"timeout_ms\":{}", task.timeout_ms);
        out += "}}";
    }
    out += "]}\n";
    return out;
}

RuntimeDump Runtime::dump() { return detail::collect_dump(*core_); }

RuntimeDump dump() {
    detail::TaskHeader* task = detail::current_task_or_throw("weft::dump()");
    return detail::collect_dump(*task->runtime);
}

}  // namespace weft
