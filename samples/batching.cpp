// batching: 1,000 concurrent lookups travel to a (pretend) database in batches of at most 50,
// one round trip per batch; every caller gets its own row back. Exits 1 on a wrong answer.
#include <weft/weft.hpp>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

using namespace std::chrono_literals;

struct Row {
    std::uint64_t id;
    std::string name;
};

std::atomic<int> round_trips{0};

// readme: begin batcher
// One query for many ids: SELECT ... WHERE id IN (...).
weft::Task<std::vector<Row>> get_many(std::vector<std::uint64_t> ids) {
    round_trips.fetch_add(1);
    co_await weft::sleep(2ms);  // the round trip
    std::vector<Row> rows;
    for (std::uint64_t id : ids) rows.push_back(Row{id, "user-" + std::to_string(id)});
    co_return rows;
}

weft::Task<bool> lookup(weft::Batcher<std::uint64_t, Row>& users, std::uint64_t id) {
    Row row = co_await users.submit(id);  // this caller's row, whatever else was in the batch
    co_return row.id == id&& row.name == "user-" + std::to_string(id);
}

weft::Task<int> run_lookups(int count) {
    weft::Batcher<std::uint64_t, Row> users(get_many, {.max_size = 50, .max_delay = 5ms});
    std::vector<weft::JoinHandle<bool>> handles;
    for (int i = 0; i < count; ++i) handles.push_back(weft::spawn(lookup(users, static_cast<std::uint64_t>(i))));
// readme: end batcher
    int right = 0;
    for (auto& handle : handles) right += co_await std::move(handle) ? 1 : 0;
    co_await users.close();
    co_return right;
}

int main() {
    const int count = 1000;
    int right = weft::run(run_lookups(count), weft::RuntimeOptions{.workers = 2});
    if (right != count || round_trips >= count) {  // (one item per trip: nothing was batched)
        std::cout << "batching: " << right << " of " << count << " right, " << round_trips << " round trips\n";
        return 1;
    }
    std::cout << "batching: " << count << " lookups answered, each with its own row, in batches of at most 50\n";
}
