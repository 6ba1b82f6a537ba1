// weft::ContextVar: values copied at spawn into child tasks (also named, gathered, inlined and
// Runtime::spawn'ed ones) and into offload()/compute() calls; a child's set() never reaches
// its parent; tokens; Context/copy_context; and a race of many tasks each with its own id.
#include <catch2/catch.hpp>

#include <weft/compute.hpp>
#include <weft/context_var.hpp>
#include <weft/error.hpp>
#include <weft/gather.hpp>
#include <weft/join_handle.hpp>
#include <weft/offload.hpp>
#include <weft/run.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/task_group.hpp>
#include <weft/yield.hpp>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "support/scaled.hpp"

namespace {

weft::RuntimeOptions workers(unsigned n) { return weft::RuntimeOptions{.workers = n, .name = "ctxvar"}; }

weft::ContextVar<std::string> request_id("request_id");
weft::ContextVar<int> depth("depth", 0);
weft::ContextVar<std::string> user("user");

weft::Task<std::string> read_id() { co_return request_id.get("none"); }

weft::Task<std::string> read_id_later() {
    co_await weft::yield_now();
    co_return request_id.get("none");
}

weft::Task<void> set_id(std::string value) {
    (void)request_id.set(std::move(value));
    co_return;
}

}  // namespace

TEST_CASE("ContextVar: get with default, fallback, LookupError, set and reset", "[context_var]") {
    auto body = []() -> weft::Task<std::string> {
        std::string log;
        log += std::to_string(depth.get()) + " ";  // the default
        log += request_id.get("fallback") + " ";
        try {
            (void)request_id.get();
            log += "NOT-raised ";
        } catch (const weft::LookupError& e) {
            log += "lookup ";
        }
        auto first = request_id.set("a");
        auto second = request_id.set("b");
        log += request_id.get() + " ";
        request_id.reset(second);
        log += request_id.get() + " ";
        request_id.reset(first);
        log += request_id.get("unset") + " ";
        try {
            request_id.reset(first);
        } catch (const weft::UsageError&) {
            log += "twice ";
        }
        auto other = user.set("u");  // a token of another variable of the same type
        try {
            request_id.reset(other);
        } catch (const weft::UsageError&) {
            log += "foreign ";
        }
        user.reset(other);
        auto three = depth.set(3);
        log += std::to_string(depth.get(99));
        depth.reset(three);
        co_return log;
    };
    CHECK(weft::run(body(), workers(1)) == "0 fallback lookup b a unset twice foreign 3");
}

TEST_CASE("ContextVar: a child gets a copy at spawn, neither side's later set() reaches the other", "[context_var]") {
    auto body = []() -> weft::Task<std::string> {
        std::string log;
        (void)request_id.set("parent");
        auto before = weft::spawn(read_id_later());  // copied now, runs after the next set()
        auto named = weft::spawn(read_id_later(), "named");
        (void)request_id.set("parent-2");
        log += co_await before;
        log += " " + co_await named;
        co_await weft::spawn(set_id("child"));  // the child's set() stays in the child
        log += " " + request_id.get();
        co_await set_id("nested");  // a nested coroutine is part of this task: shared
        log += " " + request_id.get();
        // Awaited at once: the fork-join fast path runs it inline, with its own copy.
        auto inlined = weft::spawn(read_id());
        (void)request_id.set("after-spawn");
        log += " " + co_await inlined;
        co_await weft::spawn(set_id("inline-child"));
        log += " " + request_id.get();
        // gather and TaskGroup start their members with the caller's context.
        auto both = co_await weft::gather(read_id(), read_id_later());
        log += " " + std::get<0>(both) + "/" + std::get<1>(both);
        std::string from_group;
        co_await weft::TaskGroup::run([&from_group](weft::TaskGroup& group) -> weft::Task<void> {
            group
                .spawn([](std::string& out) -> weft::Task<void> {
                    out = request_id.get();
                    co_return;
                }(from_group))
                .detach();
            co_return;
        });
        log += " " + from_group;
        co_return log;
    };
    CHECK(weft::run(body(), workers(2)) ==
          "parent parent parent-2 nested nested after-spawn after-spawn/after-spawn after-spawn");
}

TEST_CASE("ContextVar: offload and compute run in the awaiting task's context", "[context_var]") {
    auto body = []() -> weft::Task<std::string> {
        std::string log = co_await weft::offload([] { return request_id.get("none"); });
        (void)request_id.set("req-7");
        log += " " + co_await weft::offload([] { return request_id.get("none"); });
        log += " " + co_await weft::compute([] { return request_id.get("none"); });
        // A set() inside the call stays there, and the pool thread forgets it afterwards.
        log += " " + co_await weft::offload([] {
                   (void)request_id.set("inside");
                   return request_id.get();
               });
        log += " " + request_id.get();
        (void)request_id.set("req-8");
        log += " " + co_await weft::offload([] { return request_id.get("none"); });
        co_return log;
    };
    CHECK(weft::run(body(), workers(2)) == "none req-7 req-7 inside req-7 req-8");
}

TEST_CASE("ContextVar: a plain thread's context goes to the task it runs, Context::run", "[context_var]") {
    auto token = request_id.set("main-thread");
    CHECK(weft::run(read_id(), workers(1)) == "main-thread");
    request_id.reset(token);
    CHECK(weft::run(read_id(), workers(1)) == "none");

    auto body = []() -> weft::Task<std::string> {
        (void)request_id.set("outer");
        weft::Context snapshot = weft::copy_context();
        std::string inside = snapshot.run([] {
            (void)request_id.set("in-snapshot");
            return request_id.get();
        });
        std::string log = inside + " " + request_id.get();  // the caller's is untouched
        log += " " + snapshot.run([] { return request_id.get(); });  // the snapshot kept its set()
        weft::Context empty;
        log += " " + empty.run([] { return request_id.get("empty"); });
        co_return log;
    };
    CHECK(weft::run(body(), workers(1)) == "in-snapshot outer in-snapshot empty");
}

TEST_CASE("ContextVar: many tasks, each with its own request id, its children and offloads see exactly it",
          "[context_var][stress]") {
    const int count = test::scaled(10'000, 1'000);
    auto request = [](int i) -> weft::Task<int> {
        const std::string id = "req-" + std::to_string(i);
        (void)request_id.set(id);
        co_await weft::yield_now();  // maybe stolen meanwhile
        int wrong = 0;
        auto child = weft::spawn([](std::string id) -> weft::Task<int> {
            int wrong = request_id.get() != id;
            co_await weft::yield_now();
            auto grandchild = weft::spawn(read_id());
            wrong += co_await grandchild != id;
            (void)request_id.set("child-of-" + id);  // stays in the child
            co_return wrong;
        }(id));
        auto inlined = weft::spawn(read_id());  // awaited at once: inline
        wrong += co_await inlined != id;
        wrong += co_await child;
        wrong += request_id.get() != id;
        if (i % 8 == 0) wrong += co_await weft::offload([] { return request_id.get("none"); }) != id;
        if (i % 16 == 0) wrong += co_await weft::compute([] { return request_id.get("none"); }) != id;
        wrong += request_id.get() != id;
        co_return wrong;
    };
    auto body = [&request](int count) -> weft::Task<int> {
        std::vector<weft::JoinHandle<int>> tasks;
        tasks.reserve(static_cast<std::size_t>(count));
        for (int i = 0; i < count; ++i) tasks.push_back(weft::spawn(request(i)));
        int wrong = 0;
        for (auto& task : tasks) wrong += co_await task;
        wrong += request_id.get("none") != "none";  // the parent never set one
        co_return wrong;
    };
    CHECK(weft::run(body(count), workers(4)) == 0);
}

TEST_CASE("ContextVar: reset refuses a token made in another context, which stays usable where it was made",
          "[context_var]") {
    // asyncio: ValueError "Token was created in a different Context". A child that reset its
    // parent's token got the parent's old value, and used the parent's token up.
    weft::run([]() -> weft::Task<void> {
        auto token = depth.set(10);
        auto child = weft::spawn([](decltype(token)& parents) -> weft::Task<bool> {
            depth.set(20);
            bool refused = false;
            try {
                depth.reset(parents);
            } catch (const weft::UsageError&) {
                refused = true;
            }
            CHECK(depth.get() == 20);
            co_return refused;
        }(token));
        const bool refused = co_await std::move(child);
        CHECK(refused);
        depth.reset(token);  // still good here
        CHECK(depth.get() == 0);
        // A token made inside Context::run belongs to that context, not the caller's.
        weft::Context other = weft::copy_context();
        auto inner = other.run([] { return depth.set(5); });
        CHECK_THROWS_AS(depth.reset(inner), weft::UsageError);
        other.run([&inner] { depth.reset(inner); });
        // An offloaded call runs in a copy of the task's context (asyncio.to_thread).
        auto outer = depth.set(7);
        const bool refused_in_thread = co_await weft::offload([&outer] {
            try {
                depth.reset(outer);
            } catch (const weft::UsageError&) {
                return true;
            }
            return false;
        });
        CHECK(refused_in_thread);
        depth.reset(outer);
        CHECK(depth.get() == 0);
    }());
}
