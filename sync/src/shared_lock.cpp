// SharedLock is a permit core with kAll permits (detail/permits.hpp); only the misuse checks
// are its own.
#include <weft/shared_lock.hpp>

namespace weft {

void SharedLock::unlock() {
    if (!locked()) throw UsageError("weft::SharedLock::unlock(): the write lock is not held");
    if (owner() != detail::running_task())
        throw UsageError("weft::SharedLock::unlock(): the write lock is held by another task");
    release(kAll);
}

void SharedLock::unlock_shared() {
    if (readers() == 0) throw UsageError("weft::SharedLock::unlock_shared(): no reader holds the lock");
    release(1);
}

}  // namespace weft
