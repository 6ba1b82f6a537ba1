// hello: asyncio's first tutorial. Two coroutines that each wait and then say a word, awaited
// one after the other (the waits add up) and then started concurrently with spawn (asyncio's
// create_task) and with gather (the waits overlap). The words must come out the same each
// time; the times are printed, never checked.
//
//   async def say_after(delay, what):
//       await asyncio.sleep(delay)
//       return what
#include <weft/weft.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <tuple>

using namespace std::chrono_literals;

// readme: begin say_after
weft::Task<std::string> say_after(std::chrono::milliseconds delay, std::string what) {
    co_await weft::sleep(delay);  // await asyncio.sleep(delay)
    co_return what;
}
// readme: end say_after

double ms_since(weft::Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(weft::now() - start).count();
}

weft::Task<int> hello() {
    int wrong = 0;

    // readme: begin sequential
    // Sequential: the second wait starts after the first one ended (100 + 200 ms).
    //   print(await say_after(0.1, 'hello'), await say_after(0.2, 'world'))
    auto start = weft::now();
    std::string first = co_await say_after(100ms, "hello");
    std::string second = co_await say_after(200ms, "world");
    // readme: end sequential
    std::cout << "sequential: " << first << ' ' << second << " in " << ms_since(start) << " ms (about 300)\n";
    wrong += (first + ' ' + second != "hello world");

    // readme: begin create_task
    // Concurrent, with tasks: both run from the spawn on (max(100, 200) ms).
    //   task1 = asyncio.create_task(say_after(0.1, 'hello'))
    //   task2 = asyncio.create_task(say_after(0.2, 'world'))
    //   print(await task1, await task2)
    start = weft::now();
    weft::JoinHandle<std::string> task1 = weft::spawn(say_after(100ms, "hello"));
    weft::JoinHandle<std::string> task2 = weft::spawn(say_after(200ms, "world"));
    first = co_await task1;
    second = co_await task2;
    // readme: end create_task
    std::cout << "create_task: " << first << ' ' << second << " in " << ms_since(start) << " ms (about 200)\n";
    wrong += (first + ' ' + second != "hello world");

    // readme: begin gather
    // Concurrent, with gather: results in argument order, whichever finishes first.
    //   a, b = await asyncio.gather(say_after(0.2, 'hello'), say_after(0.1, 'world'))
    start = weft::now();
    auto [a, b] = co_await weft::gather(say_after(200ms, "hello"), say_after(100ms, "world"));
    // readme: end gather
    std::cout << "gather: " << a << ' ' << b << " in " << ms_since(start) << " ms (about 200)\n";
    wrong += (a + ' ' + b != "hello world");

    co_return wrong;
}

int main() {
    int wrong = weft::run(hello());  // asyncio.run(main())
    if (wrong != 0) {
        std::cout << "hello: " << wrong << " of 3 runs said something else\n";
        return 1;
    }
    std::cout << "hello: sequential, create_task and gather all said: hello world\n";
}
