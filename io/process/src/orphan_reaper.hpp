// The background reaper of children whose Process was destroyed before they exited.
//
// One thread per process, started on first need, never stopped (it sleeps in epoll_wait
// when there is nothing to do): it watches the orphans' pidfds (level-triggered) and reaps
// each with waitid(P_PIDFD) once it exits, then closes its pidfd. A dedicated thread rather
// than a weft task, because the child may outlive the runtime: a task would be cancelled at
// shutdown and leave a zombie.
#pragma once

#include <cstddef>

namespace weft::process::detail {

// Takes ownership of `pidfd` (a child not yet reaped) and reaps the child when it exits.
// Never throws: if the reaper cannot start, it logs and the child stays a zombie until exit.
void adopt_orphan(int pidfd) noexcept;

// Test hook: blocks until every adopted child has been reaped; returns how many the reaper
// has reaped in total.
std::size_t wait_orphans_reaped();

}  // namespace weft::process::detail
