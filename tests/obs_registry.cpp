// The task registry (RuntimeOptions::task_registry): every live task with its state, spawn
// location, parent and what it awaits, as Runtime::dump() returns it (task_dump.hpp).
//
// Each test drives tasks into a known wait, then polls the dump until it shows them suspended
// there (a condition, with a generous deadline; no sleep decides anything).
#include <catch2/catch.hpp>

#include <weft/barrier.hpp>
#include <weft/error.hpp>
#include <weft/event.hpp>
#include <weft/future.hpp>
#include <weft/join_handle.hpp>
#include <weft/latch.hpp>
#include <weft/lock.hpp>
#include <weft/net/unix_stream.hpp>
#include <weft/offload.hpp>
#include <weft/queue.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/semaphore.hpp>
#include <weft/sleep.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/task_dump.hpp>
#include <weft/task_group.hpp>
#include <weft/timeout.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

weft::RuntimeOptions registry(unsigned workers = 2) {
    return weft::RuntimeOptions{.workers = workers, .name = "obs", .task_registry = true};
}

const weft::DumpedTask* find(const weft::RuntimeDump& dump, std::string_view name) {
    for (const auto& task : dump.tasks)
        if (task.name == name) return &task;
    return nullptr;
}

// Polls rt.dump() until `ok` holds for it (true) or 20 s pass (false).
bool dump_until(weft::Runtime& rt, const std::function<bool(const weft::RuntimeDump&)>& ok,
                weft::RuntimeDump* last = nullptr) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    for (;;) {
        weft::RuntimeDump dump = rt.dump();
        bool done = ok(dump);
        if (last) *last = dump;
        if (done) return true;
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::yield();
    }
}

// Whether task `name` is suspended awaiting `kind`.
auto awaits(std::string_view name, std::string_view kind) {
    return [name, kind](const weft::RuntimeDump& dump) {
        const weft::DumpedTask* task = find(dump, name);
        return task && task->state == "suspended" && task->await_kind == kind;
    };
}

weft::Task<void> sleeper() { co_await weft::sleep(1h); }

// Waits on this thread for a task spawned on `rt`.
template <class T>
T join(weft::Runtime& rt, weft::JoinHandle<T> handle) {
    return weft::block_on(rt, [](weft::JoinHandle<T> h) -> weft::Task<T> { co_return co_await h; }(std::move(handle)));
}

}  // namespace

TEST_CASE("obs_registry: dump() needs the registry and says how to turn it on", "[obs][registry]") {
    weft::Runtime rt({.workers = 1});
    try {
        (void)rt.dump();
        FAIL("no UsageError");
    } catch (const weft::UsageError& e) {
        CHECK(std::string(e.what()).find("task_registry") != std::string::npos);
    }
    // track_tasks alone (all_tasks()) is not the registry.
    weft::Runtime tracked({.workers = 1, .track_tasks = true});
    CHECK_THROWS_AS(tracked.dump(), weft::UsageError);
    CHECK_THROWS_AS(weft::dump(), weft::UsageError);  // outside a task
}

TEST_CASE("obs_registry: a sleeping task shows kind sleep, its spawn location, worker and resumes", "[obs][registry]") {
    weft::Runtime rt(registry());
    auto handle = rt.spawn(sleeper(), "napper");
    const int line = __LINE__ - 1;
    weft::RuntimeDump dump;
    REQUIRE(dump_until(rt, awaits("napper", "sleep"), &dump));
    const weft::DumpedTask& task = *find(dump, "napper");
    CHECK(task.id != 0);
    CHECK(task.parent == 0);  // spawned from this plain thread
    CHECK(task.spawned_at == "obs_registry.cpp:" + std::to_string(line));
    CHECK(task.worker >= 0);
    CHECK(task.worker < 2);
    CHECK(task.resumes == 1);
    CHECK(task.busy_ns > 0);
    CHECK(task.await_detail.find("until +") != std::string::npos);
    CHECK(task.timeout_ms == -1);
    CHECK(dump.runtime == "obs");
    CHECK(dump.workers == 2);
    handle.cancel();
}

TEST_CASE("obs_registry: tasks blocked on a queue, a lock, a semaphore and an event show each kind",
          "[obs][registry]") {
    weft::Runtime rt(registry());
    weft::Queue<int> queue;
    weft::Lock lock;
    weft::Semaphore semaphore(0);
    weft::Event event;
    weft::Event release;
    auto holder = rt.spawn(
        [](weft::Lock& lock, weft::Event& release) -> weft::Task<void> {
            auto guard = co_await lock.lock();
            co_await release.wait();
        }(lock, release),
        "holder");
    REQUIRE(dump_until(rt, awaits("holder", "event")));
    auto getter = rt.spawn([](weft::Queue<int>& q) -> weft::Task<int> { co_return co_await q.get(); }(queue), "getter");
    auto locker =
        rt.spawn([](weft::Lock& lock) -> weft::Task<void> { auto guard = co_await lock.lock(); }(lock), "locker");
    auto acquirer = rt.spawn(
        [](weft::Semaphore& s) -> weft::Task<void> { auto permit = co_await s.acquire(); }(semaphore), "acquirer");
    auto waiter = rt.spawn([](weft::Event& e) -> weft::Task<void> { co_await e.wait(); }(event), "waiter");
    weft::RuntimeDump dump;
    REQUIRE(dump_until(
        rt,
        [](const weft::RuntimeDump& d) {
            return awaits("getter", "queue")(d) && awaits("locker", "lock")(d) && awaits("acquirer", "semaphore")(d) &&
                   awaits("waiter", "event")(d);
        },
        &dump));
    CHECK(find(dump, "getter")->await_detail.find("get()") != std::string::npos);
    CHECK(find(dump, "locker")->await_detail.find("weft::Lock::lock()") != std::string::npos);
    // Let everything finish (the queue's put wakes the getter, and so on).
    queue.put_nowait(7);
    release.set();
    semaphore.release();
    event.set();
    CHECK(join(rt, std::move(getter)) == 7);
    join(rt, std::move(locker));
    join(rt, std::move(acquirer));
    join(rt, std::move(waiter));
    join(rt, std::move(holder));
    REQUIRE(dump_until(rt, [](const weft::RuntimeDump& d) { return d.tasks.empty(); }));
}

TEST_CASE("obs_registry: tasks waiting on a Future, a Latch or a Barrier show the primitive's address",
          "[obs][registry]") {
    weft::Runtime rt(registry());
    weft::Future<int> shared;
    weft::Future<int> other;
    weft::Latch latch(1);
    weft::Barrier barrier(2);
    auto on_future = [](weft::Future<int> f) -> weft::Task<int> { co_return co_await f; };
    auto f1 = rt.spawn(on_future(shared), "f1");
    auto f2 = rt.spawn(on_future(shared), "f2");
    auto f3 = rt.spawn(on_future(other), "f3");
    auto latched = rt.spawn([](weft::Latch& l) -> weft::Task<void> { co_await l.wait(); }(latch), "latched");
    auto barred =
        rt.spawn([](weft::Barrier& b) -> weft::Task<std::size_t> { co_return co_await b.wait(); }(barrier), "barred");
    weft::RuntimeDump dump;
    REQUIRE(dump_until(
        rt,
        [](const weft::RuntimeDump& d) {
            for (const char* name : {"f1", "f2", "f3", "latched", "barred"}) {
                const weft::DumpedTask* task = find(d, name);
                if (!task || task->state != "suspended" || task->await_detail.empty()) return false;
            }
            return true;
        },
        &dump));
    for (const char* name : {"f1", "f3", "latched", "barred"}) {
        INFO(name << ": " << find(dump, name)->await_detail);
        CHECK(find(dump, name)->await_detail.find(" 0x0") == std::string::npos);  // 0x0: no address
    }
    CHECK(find(dump, "f1")->await_detail == find(dump, "f2")->await_detail);  // the same future
    CHECK(find(dump, "f1")->await_detail != find(dump, "f3")->await_detail);
    shared.set_result(1);
    other.set_result(2);
    latch.count_down();
    auto second = rt.spawn([](weft::Barrier& b) -> weft::Task<std::size_t> { co_return co_await b.wait(); }(barrier));
    CHECK(join(rt, std::move(f1)) + join(rt, std::move(f2)) + join(rt, std::move(f3)) == 4);
    join(rt, std::move(latched));
    CHECK(join(rt, std::move(barred)) + join(rt, std::move(second)) == 1);  // arrival indices 0 and 1
}

TEST_CASE("obs_registry: a parent awaiting its child shows the chain down to the leaf", "[obs][registry]") {
    weft::Runtime rt(registry());
    auto parent = rt.spawn(
        []() -> weft::Task<void> {
            auto child = weft::spawn(
                []() -> weft::Task<void> {
                    auto grandchild = weft::spawn(sleeper(), "grandchild");
                    co_await grandchild;
                }(),
                "child");
            co_await child;
        }(),
        "parent");
    weft::RuntimeDump dump;
    REQUIRE(dump_until(
        rt,
        [](const weft::RuntimeDump& d) {
            return awaits("parent", "task")(d) && awaits("child", "task")(d) && awaits("grandchild", "sleep")(d);
        },
        &dump));
    const auto& p = *find(dump, "parent");
    const auto& c = *find(dump, "child");
    const auto& g = *find(dump, "grandchild");
    CHECK(p.await_task == c.id);
    CHECK(c.await_task == g.id);
    CHECK(c.parent == p.id);
    CHECK(g.parent == c.id);
    // The tree nests them in that order, each line saying what it awaits.
    std::string tree = dump.tree();
    INFO(tree);
    auto at_parent = tree.find("'parent' suspended, awaiting task #" + std::to_string(c.id));
    auto at_child = tree.find("'child' suspended, awaiting task #" + std::to_string(g.id));
    auto at_grandchild = tree.find("'grandchild' suspended, awaiting sleep until");
    REQUIRE(at_parent != std::string::npos);
    REQUIRE(at_child != std::string::npos);
    REQUIRE(at_grandchild != std::string::npos);
    CHECK(at_parent < at_child);
    CHECK(at_child < at_grandchild);
    CHECK(tree.find("   └─ #" + std::to_string(c.id)) != std::string::npos);  // one level in
    CHECK(tree.find("      └─ #" + std::to_string(g.id)) != std::string::npos);  // two levels in
    // The JSON carries the same, with the awaited child's id.
    std::string json = dump.json();
    CHECK(json.find("\"name\":\"parent\"") != std::string::npos);
    CHECK(json.find("\"awaiting\":{\"kind\":\"task\",\"detail\":\"task #" + std::to_string(c.id) +
                    "\",\"task\":" + std::to_string(c.id) + "}") != std::string::npos);
    CHECK(json.starts_with("{\"runtime\":{\"name\":\"obs\",\"workers\":2},\"tasks\":["));
    parent.cancel();
    CHECK_THROWS_AS(join(rt, std::move(parent)), weft::CancelledError);
}

TEST_CASE("obs_registry: a socket read, an offloaded call, a TaskGroup and a timeout scope", "[obs][registry]") {
    weft::Runtime rt(registry());
    std::atomic<bool> let_go{false};
    auto pair = std::make_shared<std::optional<std::pair<weft::net::UnixStream, weft::net::UnixStream>>>();
    auto reader = rt.spawn(
        [](auto pair) -> weft::Task<void> {
            *pair = weft::net::UnixStream::pair();
            char byte = 0;
            (void)co_await (*pair)->first.read(&byte, 1);
        }(pair),
        "reader");
    auto offloader = rt.spawn(
        [](std::atomic<bool>& let_go) -> weft::Task<void> {
            co_await weft::offload([&let_go] {
                while (!let_go.load()) std::this_thread::yield();
            });
        }(let_go),
        "offloader");
    auto grouper = rt.spawn(
        []() -> weft::Task<void> {
            weft::TaskGroup group;
            group.spawn(sleeper(), "member").detach();
            co_await group.wait();
        }(),
        "grouper");
    auto bounded = rt.spawn(
        []() -> weft::Task<void> {
            auto scope = weft::timeout(1h);
            co_await weft::sleep(2h);
        }(),
        "bounded");
    weft::RuntimeDump dump;
    REQUIRE(dump_until(
        rt,
        [](const weft::RuntimeDump& d) {
            return awaits("reader", "socket")(d) && awaits("offloader", "offload")(d) && awaits("grouper", "task")(d) &&
                   awaits("member", "sleep")(d) && awaits("bounded", "sleep")(d);
        },
        &dump));
    CHECK(find(dump, "reader")->await_detail.ends_with(" read"));
    CHECK(find(dump, "reader")->await_detail.starts_with("fd "));
    CHECK(find(dump, "offloader")->await_detail == "weft::offload()");
    CHECK(find(dump, "grouper")->await_detail.find("TaskGroup") != std::string::npos);
    CHECK(find(dump, "member")->parent == find(dump, "grouper")->id);
    CHECK(find(dump, "bounded")->timeout_ms > 3'000'000);  // about an hour away
    CHECK(find(dump, "bounded")->timeout_ms <= 3'600'000);
    CHECK(dump.table().find("(timeout in ") != std::string::npos);
    let_go = true;
    join(rt, std::move(offloader));
    reader.cancel();
    grouper.cancel();
    bounded.cancel();
}

TEST_CASE("obs_registry: weft::dump() inside a task sees itself running", "[obs][registry]") {
    auto body = []() -> weft::Task<std::string> {
        auto other = weft::spawn(sleeper(), "other");
        co_await weft::sleep(0ms);
        weft::RuntimeDump dump = weft::dump();
        std::string out;
        for (const auto& task : dump.tasks) out += task.name + "=" + task.state + " ";
        other.cancel();
        co_return out;
    };
    std::string seen = weft::run(body(), registry(1));
    CHECK(seen.find("block_on=running") != std::string::npos);
    CHECK(seen.find("other=suspended") != std::string::npos);
}

TEST_CASE("obs_registry: many tasks come and go, the dump lists exactly the live ones", "[obs][registry]") {
    weft::Runtime rt(registry(2));
    for (int round = 0; round < 20; ++round) {
        int count = weft::block_on(rt, []() -> weft::Task<int> {
            std::vector<weft::JoinHandle<void>> handles;
            for (int i = 0; i < 200; ++i) handles.push_back(weft::spawn(sleeper(), "s"));
            for (int i = 0; i < 100; ++i) handles.push_back(weft::spawn([]() -> weft::Task<void> { co_return; }()));
            for (int i = 200; i < 300; ++i) co_await handles[static_cast<std::size_t>(i)];
            int sleeping = 0;
            for (const auto& t : weft::dump().tasks) sleeping += t.name == "s";
            for (int i = 0; i < 200; ++i) handles[static_cast<std::size_t>(i)].cancel();
            for (int i = 0; i < 200; ++i) {
                try {
                    co_await handles[static_cast<std::size_t>(i)];
                } catch (const weft::CancelledError&) {
                }
            }
            co_return sleeping;
        }());
        REQUIRE(count == 200);
    }
    REQUIRE(dump_until(rt, [](const weft::RuntimeDump& d) { return d.tasks.empty(); }));
}
