// task_group: structured concurrency (asyncio.TaskGroup). Every task started in the group is
// finished when the group's scope ends. When one member fails, the group cancels the others
// and raises an ExceptionGroup with the failures, which the caller takes apart by type
// (Python's `except*`). Checks the results, the failures and the cancellations exactly.
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;

weft::Task<int> fetch_price(std::string item) {
    co_await weft::sleep(10ms);
    if (item == "unknown") throw std::invalid_argument("no such item: " + item);
    co_return static_cast<int>(item.size()) * 100;
}

std::atomic<int> cancelled_members{0};

weft::Task<int> slow_fetch(std::string item) {
    try {
        co_await weft::sleep(1h);
    } catch (const weft::CancelledError&) {
        ++cancelled_members;  // the group cancelled us when a sibling failed
        std::cout << "group 2: " << item << " cancelled\n";
        throw;
    }
    co_return 0;
}

weft::Task<int> task_group() {
    int wrong = 0;

    // All succeed: the results are read from the handles after the group.
    //   async with asyncio.TaskGroup() as tg:
    //       a = tg.create_task(fetch_price('tea'))
    //       b = tg.create_task(fetch_price('coffee'))
    //   print(a.result() + b.result())
    weft::JoinHandle<int> a, b;
    co_await weft::TaskGroup::run([&](weft::TaskGroup& tg) -> weft::Task<void> {
        a = tg.spawn(fetch_price("tea"));
        b = tg.spawn(fetch_price("coffee"));
        co_return;
    });  // returns once every member finished
    int total = a.result() + b.result();
    std::cout << "group 1: tea + coffee = " << total << '\n';
    wrong += (total != 900);

    // One fails: the two slow members are cancelled, the failure comes out in a group.
    // readme: begin exception_group
    //   try:
    //       async with asyncio.TaskGroup() as tg: ...
    //   except* ValueError as eg: ...
    try {
        co_await weft::TaskGroup::run([&](weft::TaskGroup& tg) -> weft::Task<void> {
            tg.spawn(slow_fetch("piano")).detach();  // the group still waits for it
            tg.spawn(slow_fetch("boat")).detach();
            tg.spawn(fetch_price("unknown")).detach();
            co_return;
        });
        std::cout << "group 2 did not fail\n";
        ++wrong;
    } catch (const weft::ExceptionGroup& group) {
        int invalid = 0, other = 0;
        for (const std::exception_ptr& error : group.exceptions()) {
            try {
                std::rethrow_exception(error);
            } catch (const std::invalid_argument& e) {  // except* ValueError
                std::cout << "group 2: invalid argument: " << e.what() << '\n';
                ++invalid;
            } catch (...) {
                ++other;
            }
        }
        std::cout << "group 2: " << group.exceptions().size() << " failure(s), " << cancelled_members
                  << " sibling(s) cancelled\n";
        wrong += (invalid != 1) + (other != 0);
    }
    // readme: end exception_group
    wrong += (cancelled_members != 2);
    co_return wrong;
}

int main() {
    int wrong = weft::run(task_group(), weft::RuntimeOptions{.workers = 2});
    if (wrong != 0) return 1;
    std::cout << "task_group: 2 results; then 1 failure in the ExceptionGroup and 2 siblings cancelled\n";
}
