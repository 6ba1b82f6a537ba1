// fanout: spawn 10,000 small tasks across the workers, await every JoinHandle, print the sum.
#include <weft/weft.hpp>

#include <cstdint>
#include <iostream>
#include <vector>

weft::Task<std::uint64_t> square(std::uint64_t n) {
    std::uint64_t result = n * n;
    co_return result;
}

weft::Task<std::uint64_t> fanout(std::uint64_t count) {
    std::vector<weft::JoinHandle<std::uint64_t>> handles;
    handles.reserve(count);
    for (std::uint64_t i = 0; i < count; ++i) {
        handles.push_back(weft::spawn(square(i), "square"));
    }
    std::uint64_t sum = 0;
    for (auto& handle : handles) {
        sum += co_await std::move(handle);  // resumes once that task has finished
    }
    std::cout << "task " << weft::current_task().id() << " joined " << count << " tasks\n";
    co_return sum;
}

int main() {
    std::uint64_t sum = weft::run(fanout(10'000), weft::RuntimeOptions{.workers = 2});
    std::cout << "sum = " << sum << '\n';
}
