// A worker's side of the task registry (task_trace.hpp), present only in runtimes that keep
// one: Worker::run_task then resumes through traced_resume() instead of resume() directly.
#pragma once

#include <coroutine>
#include <cstdint>
#include <mutex>
#include <string>

#include <weft/detail/atomic.hpp>

namespace weft::detail {

class TaskHeader;

struct WorkerTrace {
    unsigned index = 0;
    std::uint64_t slow_ns = 0;                 // debug mode: log resumes longer than this (0: never)
    Atomic<std::uint64_t> started_ns{0};       // the running resume's start (steady ns); 0: none
    Atomic<std::uint64_t> task_id{0};          // and its task
    Atomic<std::uint64_t> resume_count{0};     // resumes begun (the watchdog's "has it ticked")
    // Debug mode: the watchdog's words for who runs in the resume `culprit_resume` (the child
    // running inline in the resumed task, if any), for the log line when that resume ends.
    std::mutex culprit_mutex;
    std::uint64_t culprit_resume = 0;
    std::string culprit;
};

// Resumes `task` at `resume`, recording its worker, resume count and busy time, clearing
// what it awaited, and (debug mode) logging a resume that ran longer than trace.slow_ns.
void traced_resume(WorkerTrace& trace, TaskHeader* task, std::coroutine_handle<> resume) noexcept;

std::uint64_t steady_ns() noexcept;

}  // namespace weft::detail
