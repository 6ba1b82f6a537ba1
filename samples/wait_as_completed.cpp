// wait_as_completed: asyncio.wait and asyncio.as_completed over tasks already started.
// wait() returns (done, pending) when the first task completes, the first fails or all are
// done, or at a timeout; as_completed() hands out the tasks in the order they finish.
// Neither cancels anything: what is pending is the caller's to cancel or await.
//
// On the virtual clock (RuntimeOptions::virtual_time), so the order of completion is exactly
// the order of the delays on every run, and the sample takes milliseconds.
#include <weft/weft.hpp>

#include <chrono>
#include <iostream>
#include <vector>

using namespace std::chrono_literals;

weft::Task<int> job(int seconds) {
    co_await weft::sleep(std::chrono::seconds(seconds));
    co_return seconds;
}

std::vector<weft::JoinHandle<int>> start(std::vector<int> delays) {
    std::vector<weft::JoinHandle<int>> tasks;
    for (int d : delays) tasks.push_back(weft::spawn(job(d)));  // asyncio.create_task(job(d))
    return tasks;
}

weft::Task<int> wait_as_completed() {
    int wrong = 0;

    // readme: begin wait
    // FIRST_COMPLETED: the 1 s job is done, the others still run; cancel them.
    //   done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    //   for t in pending: t.cancel()
    auto tasks = start({3, 1, 2});
    auto [done, pending] = co_await weft::wait(tasks, weft::FIRST_COMPLETED);
    // readme: end wait
    std::cout << "FIRST_COMPLETED: " << done.size() << " done (the " << tasks[done.at(0)].result() << " s job), "
              << pending.size() << " pending, cancelled\n";
    wrong += (done.size() != 1 || tasks[done[0]].result() != 1 || pending.size() != 2);
    // readme: begin cancel
    for (std::size_t i : pending) tasks[i].cancel();
    // readme: end cancel
    for (std::size_t i : pending) {
        try {
            co_await tasks[i];
        } catch (const weft::CancelledError&) {
        }
        wrong += !tasks[i].cancelled();
    }

    // A timeout: whatever finished within 2.5 s is done, the rest pending (and left running).
    //   done, pending = await asyncio.wait(tasks, timeout=2.5)
    tasks = start({1, 4, 2, 3});
    auto timed = co_await weft::wait(tasks, weft::ALL_COMPLETED, 2500ms);
    std::cout << "timeout 2.5 s: " << timed.done.size() << " done, " << timed.pending.size() << " pending\n";
    wrong += (timed.done.size() != 2 || timed.pending.size() != 2);
    for (std::size_t i : timed.pending) co_await tasks[i];  // let them finish after all

    // as_completed: results in the order they finish, not the order started.
    // readme: begin as_completed
    //   for coro in asyncio.as_completed(tasks):
    //       print(await coro)
    tasks = start({3, 1, 4, 2});
    std::vector<int> order;
    auto completed = weft::as_completed(tasks);
    while (auto i = co_await completed.next()) order.push_back(co_await tasks[*i]);
    // readme: end as_completed
    std::cout << "as_completed:";
    for (int seconds : order) std::cout << ' ' << seconds;
    std::cout << '\n';
    wrong += (order != std::vector<int>{1, 2, 3, 4});
    co_return wrong;
}

int main() {
    int wrong = weft::run(wait_as_completed(), weft::RuntimeOptions{.workers = 1, .virtual_time = true});
    if (wrong != 0) return 1;
    std::cout << "wait_as_completed: first completed 1 of 3, 2 of 4 within the timeout, completion order 1 2 3 4\n";
}
