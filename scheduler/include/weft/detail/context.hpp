// What the current thread is doing for weft: which worker it is (if any) and which
// task it is resuming. Thread-local, read on every suspension, so kept trivial.
#pragma once

namespace weft::detail {

class Worker;
class TaskHeader;
class RuntimeCore;
class LocalQueue;

struct ThreadContext {
    Worker* worker = nullptr;
    RuntimeCore* runtime = nullptr;  // the worker's runtime (read by spawn without a call)
    TaskHeader* task = nullptr;
    bool cancellable_suspend = false;  // the awaiter now suspending accepts cancellation
    // The worker's queue, for the inline fork-join path (fork_join.hpp): set exactly when
    // `worker` is.
    LocalQueue* queue = nullptr;
};

inline thread_local ThreadContext tls_context{};

}  // namespace weft::detail
