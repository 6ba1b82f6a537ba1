// async_resource: asyncio's async context manager (`async with` / __aenter__ / __aexit__) in
// C++. A destructor cannot co_await, so a resource whose closing must await (say goodbye to
// the server, flush a buffer) is closed by a function that owns its scope: it opens the
// resource, runs the body, and closes it on every way out: a result, an exception, a
// cancellation. Three uses, one of each; checks that all three connections were closed.
//
//   async with open_session('db') as session:
//       await session.query(...)
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>

using namespace std::chrono_literals;

std::atomic<int> opened{0}, closed{0};

class Session {
public:
    // __aenter__: connecting awaits.
    static weft::Task<Session> open(std::string name) {
        co_await weft::sleep(1ms);  // connect
        ++opened;
        co_return Session(std::move(name));
    }
    weft::Task<int> query(int x) {
        co_await weft::sleep(1ms);
        co_return x * 2;
    }
    // __aexit__: closing awaits too (a goodbye message).
    weft::Task<void> close() {
        if (!open_) co_return;
        open_ = false;
        co_await weft::sleep(1ms);
        ++closed;
        std::cout << "  " << name_ << ": closed\n";
    }
    Session(Session&& other) noexcept : name_(std::move(other.name_)), open_(std::exchange(other.open_, false)) {}
    ~Session() {
        if (open_) std::cout << "  " << name_ << ": leaked (close() was never awaited)\n";
    }

private:
    explicit Session(std::string name) : name_(std::move(name)) {}
    std::string name_;
    bool open_ = true;
};

// readme: begin with_session
// `async with open_session(name) as session: return await body(session)`
template <class Body>
auto with_session(std::string name, Body body) -> decltype(body(std::declval<Session&>())) {
    Session session = co_await Session::open(std::move(name));
    std::exception_ptr error;
    try {
        auto result = co_await body(session);
        co_await session.close();
        co_return result;
    } catch (...) {
        error = std::current_exception();  // C++ cannot co_await inside a catch block: close below
    }
    // shield: a cancellation that ended the body must not cut the goodbye short.
    co_await weft::shield(session.close());
    std::rethrow_exception(error);  // CancelledError or the body's exception, unchanged
}
// readme: end with_session

weft::Task<int> async_resource() {
    int wrong = 0;

    std::cout << "1: a result\n";
    int answer = co_await with_session("db-1", [](Session& s) { return s.query(21); });
    wrong += (answer != 42);

    std::cout << "2: the body throws\n";
    try {
        co_await with_session("db-2", [](Session& s) -> weft::Task<int> {
            co_await s.query(1);
            throw std::runtime_error("constraint violated");
        });
        ++wrong;
    } catch (const std::runtime_error& e) {
        std::cout << "  caught: " << e.what() << '\n';
    }

    std::cout << "3: the task is cancelled in the middle\n";
    weft::Event querying;
    auto task = weft::spawn(with_session("db-3", [&querying](Session&) -> weft::Task<int> {
        querying.set();
        co_await weft::sleep(1h);
        co_return 0;
    }));
    co_await querying.wait();
    task.cancel();
    try {
        co_await task;
        ++wrong;
    } catch (const weft::CancelledError&) {
        std::cout << "  cancelled\n";
    }
    std::cout << "opened " << opened << ", closed " << closed << '\n';
    wrong += (opened != 3) + (closed != 3);
    co_return wrong;
}

int main() {
    int wrong = weft::run(async_resource(), weft::RuntimeOptions{.workers = 2});
    if (wrong != 0) return 1;
    std::cout << "async_resource: 3 sessions opened and 3 closed: after a result, an exception and a cancellation\n";
}
