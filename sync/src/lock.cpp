// Lock is a permit core with one permit (detail/permits.hpp); only the ownership check is its own.
#include <weft/lock.hpp>

namespace weft {

void Lock::unlock() {
    if (!locked()) throw UsageError("weft::Lock::unlock(): the lock is not locked");
    if (owner() != detail::running_task()) throw UsageError("weft::Lock::unlock(): the lock is held by another task");
    release();
}

}  // namespace weft
