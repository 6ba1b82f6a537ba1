// Test seams inside weft::fs's background work, for tests that must act at a fixed point of a
// call that runs on the blocking pool (no sleeping until it gets there).
//
//   weft::testing::set_write_file_before_rename([&] { inside.count_down(); go.wait(); });
//   ... cancel the write_file while it waits in the hook ...
//   weft::testing::set_write_file_before_rename({});
//
// Not for production code: one process-wide hook, and every write_file pays a mutex-free
// check for it.
#pragma once

#include <functional>

namespace weft::testing {

/// Called on the blocking-pool thread by each write_file that replaces a regular file, after
/// its temporary file is written and closed, before it looks for a cancellation and renames.
/// The call keeps its own copy of the hook until it returns. An empty function removes it.
void set_write_file_before_rename(std::function<void()> hook);

}  // namespace weft::testing
