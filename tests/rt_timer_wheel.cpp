// TimerWheel, single-threaded and deterministic: the clock is whatever the test passes to
// advance(); nothing sleeps.
#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "timer_wheel.hpp"

using weft::detail::TimerNode;
using weft::detail::TimerWheel;

namespace {

constexpr std::uint64_t kRange = TimerWheel::kRange;

struct Timer : TimerNode {
    int fired = 0;
    std::uint64_t fired_at = 0;
};

// Advances and returns what fired, in delivery order, recording each timer's firing.
std::vector<Timer*> advance(TimerWheel& wheel, std::uint64_t now) {
    std::vector<Timer*> out;
    const std::size_t n = wheel.advance(now, [&](TimerNode* node) {
        REQUIRE_FALSE(node->linked());
        auto* timer = static_cast<Timer*>(node);
        ++timer->fired;
        timer->fired_at = wheel.elapsed();
        out.push_back(timer);
    });
    REQUIRE(n == out.size());
    return out;
}

void require_bound(const TimerWheel& wheel, std::uint64_t earliest) {
    const std::optional<std::uint64_t> next = wheel.next_deadline();
    REQUIRE(next.has_value());
    REQUIRE(*next <= earliest);
    REQUIRE(*next >= wheel.elapsed());
}

const std::uint64_t kEpochs[] = {0, 1, 4'000'000'007, kRange - 1, 3 * kRange - 5};

const std::uint64_t kOffsets[] = {0,
                                  1,
                                  2,
                                  63,
                                  64,
                                  65,
                                  4095,
                                  4096,
                                  4097,
                                  262143,
                                  262144,
                                  (1u << 24) + 3,
                                  (1u << 30) - 1,
                                  1u << 30,
                                  (1u << 30) + 1,
                                  kRange - 2,
                                  kRange - 1,
                                  kRange,
                                  kRange + 1,
                                  2 * kRange + 12345,
                                  (std::uint64_t{1} << 40) + 7};

// Three ways of reaching one timer's tick; each checks it fires there and only once.
void straight(std::uint64_t epoch, std::uint64_t offset) {
    const std::uint64_t deadline = epoch + offset;
    TimerWheel wheel(epoch);
    Timer t;
    t.deadline = deadline;
    wheel.insert(&t);
    REQUIRE(t.linked());
    REQUIRE(wheel.size() == 1);
    require_bound(wheel, deadline);
    if (offset > 0) {
        REQUIRE(advance(wheel, deadline - 1).empty());
        require_bound(wheel, deadline);
    }
    auto fired = advance(wheel, deadline);
    REQUIRE(fired.size() == 1);
    REQUIRE(fired[0] == &t);
    REQUIRE(wheel.empty());
    REQUIRE_FALSE(wheel.next_deadline());
    REQUIRE(advance(wheel, deadline + 3 * kRange).empty());
    REQUIRE(t.fired == 1);
}

void sleeping_until_next_deadline(std::uint64_t epoch, std::uint64_t offset) {
    const std::uint64_t deadline = epoch + offset;
    TimerWheel wheel(epoch);
    Timer t;
    t.deadline = deadline;
    wheel.insert(&t);
    std::uint64_t wakeups = 0;
    while (t.fired == 0) {
        const auto next = wheel.next_deadline();
        REQUIRE(next.has_value());
        REQUIRE(*next <= deadline);
        REQUIRE(*next >= wheel.elapsed());
        advance(wheel, *next);
        ++wakeups;
    }
    REQUIRE(t.fired_at == deadline);
    REQUIRE(wheel.elapsed() == deadline);
    // One wake-up per level on the way down, plus one per trip round the top.
    REQUIRE(wakeups <= TimerWheel::kLevels + offset / kRange + 1);
    REQUIRE(advance(wheel, deadline + 1).empty());
}

void walking_in_uneven_steps(std::uint64_t epoch, std::uint64_t offset) {
    const std::uint64_t deadline = epoch + offset;
    TimerWheel wheel(epoch);
    Timer t;
    t.deadline = deadline;
    wheel.insert(&t);
    const std::uint64_t steps[] = {offset / 3, offset / 2, offset - offset / 64, offset - 65, offset - 64,
                                   offset - 2, offset - 1};
    for (std::uint64_t step : steps) {
        if (step >= offset) continue;  // wrapped round for small offsets
        REQUIRE(advance(wheel, epoch + step).empty());
        require_bound(wheel, deadline);
    }
    auto fired = advance(wheel, deadline + 1);
    REQUIRE(fired.size() == 1);
    REQUIRE(t.fired == 1);
}

}  // namespace

TEST_CASE("timer_wheel: a single timer fires exactly at its tick", "[timer_wheel]") {
    for (std::uint64_t epoch : kEpochs) {
        for (std::uint64_t offset : kOffsets) {
            CAPTURE(epoch, offset);
            straight(epoch, offset);
            sleeping_until_next_deadline(epoch, offset);
            walking_in_uneven_steps(epoch, offset);
        }
    }
}

TEST_CASE("timer_wheel: a deadline already reached fires at the next advance", "[timer_wheel]") {
    TimerWheel wheel(1000);
    Timer past, now, min;
    past.deadline = 999;
    now.deadline = 1000;
    min.deadline = 0;
    wheel.insert(&past);
    wheel.insert(&now);
    wheel.insert(&min);
    REQUIRE(wheel.next_deadline() == std::optional<std::uint64_t>(1000));
    // Even an advance to an earlier time (which leaves the clock alone) delivers them.
    auto fired = advance(wheel, 5);
    REQUIRE(fired.size() == 3);
    REQUIRE(wheel.elapsed() == 1000);
    REQUIRE(past.fired == 1);
    REQUIRE(now.fired == 1);
    REQUIRE(min.fired == 1);
    REQUIRE(wheel.empty());
}

TEST_CASE("timer_wheel: the far end of the deadline range", "[timer_wheel]") {
    TimerWheel wheel(12345);
    Timer never, late;
    never.deadline = UINT64_MAX;
    late.deadline = std::uint64_t{1} << 62;
    wheel.insert(&never);
    wheel.insert(&late);
    require_bound(wheel, late.deadline);
    REQUIRE(advance(wheel, late.deadline - 1).empty());
    REQUIRE(advance(wheel, late.deadline).size() == 1);
    REQUIRE(late.fired == 1);
    REQUIRE(advance(wheel, UINT64_MAX - 1).empty());
    require_bound(wheel, UINT64_MAX);
    REQUIRE(advance(wheel, UINT64_MAX).size() == 1);
    REQUIRE(never.fired == 1);
    REQUIRE(wheel.empty());
}

TEST_CASE("timer_wheel: removed timers never fire", "[timer_wheel]") {
    TimerWheel wheel(0);
    std::vector<Timer> timers(8);
    const std::uint64_t deadlines[] = {0, 5, 5, 70, 5000, 300000, kRange + 9, 7 * kRange};
    for (std::size_t i = 0; i < timers.size(); ++i) {
        timers[i].deadline = deadlines[i];
        wheel.insert(&timers[i]);
    }
    REQUIRE(wheel.size() == 8);

    wheel.remove(&timers[0]);  // on the due ring
    wheel.remove(&timers[1]);  // level 0, shares its slot with timers[2]
    REQUIRE_FALSE(timers[0].linked());
    REQUIRE(wheel.size() == 6);
    REQUIRE(wheel.next_deadline() == std::optional<std::uint64_t>(5));

    REQUIRE(advance(wheel, 5).size() == 1);
    REQUIRE(timers[2].fired == 1);

    // Removed after advances have moved them down a level or more.
    REQUIRE(advance(wheel, 4200).size() == 1);
    REQUIRE(timers[3].fired == 1);
    wheel.remove(&timers[4]);
    REQUIRE(advance(wheel, 200000).empty());
    wheel.remove(&timers[5]);
    REQUIRE(advance(wheel, kRange + 8).empty());
    REQUIRE(wheel.next_deadline() == std::optional<std::uint64_t>(kRange + 9));
    wheel.remove(&timers[6]);
    wheel.remove(&timers[7]);
    REQUIRE(wheel.empty());
    REQUIRE_FALSE(wheel.next_deadline());
    REQUIRE(advance(wheel, 100 * kRange).empty());
    for (std::size_t i : {0u, 1u, 4u, 5u, 6u, 7u}) REQUIRE(timers[i].fired == 0);

    // A removed node can be armed again.
    timers[0].deadline = wheel.elapsed() + 10;
    wheel.insert(&timers[0]);
    REQUIRE(advance(wheel, wheel.elapsed() + 10).size() == 1);
    REQUIRE(timers[0].fired == 1);
}

TEST_CASE("timer_wheel: on_due may insert, remove and free", "[timer_wheel]") {
    TimerWheel wheel(0);
    auto* a = new Timer;
    auto* b = new Timer;
    Timer c, d, late, rearmed, immediate;
    a->deadline = 10;
    b->deadline = 10;
    c.deadline = 20;
    d.deadline = 30;
    late.deadline = 0;
    wheel.insert(a);
    wheel.insert(b);
    wheel.insert(&c);
    wheel.insert(&d);

    std::vector<std::uint64_t> order;
    int freed = 0;
    auto on_due = [&](TimerNode* node) {
        order.push_back(node->deadline);
        if (node == a || node == b) {
            // Whichever of the two comes first cancels the other (one tick: any order).
            Timer* other = node == a ? b : a;
            REQUIRE(other->linked());
            wheel.remove(other);
            delete other;
            delete static_cast<Timer*>(node);
            freed += 2;
            // Inserted with deadline <= now (elapsed() is 40 already): next advance.
            immediate.deadline = 3;
            wheel.insert(&immediate);
            rearmed.deadline = 45;
            wheel.insert(&rearmed);
        } else if (node == &c) {
            wheel.remove(&d);
            late.deadline = 26;
            wheel.insert(&late);
        }
    };
    REQUIRE(wheel.advance(40, on_due) == 2);  // a-or-b, c
    REQUIRE(freed == 2);
    REQUIRE(order == std::vector<std::uint64_t>{10, 20});
    REQUIRE(wheel.size() == 3);
    REQUIRE_FALSE(d.linked());
    REQUIRE(wheel.next_deadline() == std::optional<std::uint64_t>(40));

    order.clear();
    REQUIRE(wheel.advance(40, on_due) == 2);
    REQUIRE(order == std::vector<std::uint64_t>{3, 26});
    REQUIRE(wheel.next_deadline() == std::optional<std::uint64_t>(45));
    REQUIRE(advance(wheel, 44).empty());
    REQUIRE(advance(wheel, 45).size() == 1);
    REQUIRE(wheel.empty());
}

TEST_CASE("timer_wheel: a periodic timer re-armed from on_due", "[timer_wheel]") {
    TimerWheel wheel(0);
    Timer tick;
    tick.deadline = 7;
    wheel.insert(&tick);
    auto rearm = [&](TimerNode* node) {
        ++tick.fired;
        node->deadline += 7;
        wheel.insert(node);
    };
    REQUIRE(wheel.advance(100, rearm) == 1);  // once per advance, never in a loop
    REQUIRE(tick.deadline == 14);
    std::size_t total = 0;
    for (std::uint64_t now = 101; now <= 1000; ++now) total += wheel.advance(now, rearm);
    // Deadlines 14, 21, ..., 994: the backlog catches up one per advance, then on time.
    REQUIRE(total == 994 / 7 - 14 / 7 + 1);
    REQUIRE(tick.deadline == 1001);
    wheel.remove(&tick);
}

TEST_CASE("timer_wheel: one big advance delivers in deadline order", "[timer_wheel]") {
    TimerWheel wheel(77);
    std::mt19937_64 rng(42);
    std::vector<Timer> timers(20000);
    for (Timer& t : timers) {
        const int scale = static_cast<int>(rng() % 38);
        t.deadline = 77 + rng() % (std::uint64_t{1} << scale) + 1;
        wheel.insert(&t);
    }
    const std::uint64_t last = std::uint64_t{1} << 37;
    auto fired = advance(wheel, last + 100);
    REQUIRE(fired.size() == timers.size());
    for (std::size_t i = 1; i < fired.size(); ++i) REQUIRE(fired[i - 1]->deadline <= fired[i]->deadline);
    for (Timer& t : timers) REQUIRE(t.fired == 1);
}

TEST_CASE("timer_wheel: random operations against a reference model", "[timer_wheel]") {
    struct Entry : TimerNode {
        std::uint64_t effective = 0;  // max(deadline, elapsed() at insert): when it is due
        std::multimap<std::uint64_t, Entry*>::iterator in_model;
        std::size_t live_index = 0;
        unsigned generation = 0;  // the advance() during which it was inserted
    };
    constexpr std::size_t kPool = 5000;
    std::vector<Entry> pool(kPool);
    std::vector<Entry*> free_list;
    for (Entry& e : pool) free_list.push_back(&e);
    std::vector<Entry*> live;
    std::multimap<std::uint64_t, Entry*> model;

    std::mt19937_64 rng(20240611);
    const std::uint64_t epoch = GENERATE(std::uint64_t{0}, kRange - 300000, std::uint64_t{5} << 40);
    CAPTURE(epoch);
    TimerWheel wheel(epoch);
    unsigned generation = 0;

    auto random_offset = [&]() -> std::uint64_t {
        switch (rng() % 10) {
            case 0:
                return 0;
            case 1:
                return rng() % 64;
            case 2:
                return rng() % 4096;
            case 3:
                return rng() % 262144;
            case 4:
                return rng() % (1u << 24);
            case 5:
                return rng() % (std::uint64_t{1} << 31);
            case 6:
                return kRange - 5 + rng() % 10;
            case 7:
                return rng() % (std::uint64_t{1} << 40);
            default:
                return rng() % 200;
        }
    };
    auto insert = [&](std::uint64_t now) {
        if (free_list.empty()) return;
        Entry* e = free_list.back();
        free_list.pop_back();
        const std::uint64_t base = wheel.elapsed();
        e->deadline = rng() % 8 == 0 ? base - std::min<std::uint64_t>(base, rng() % 100) : base + random_offset();
        e->effective = std::max(e->deadline, now);
        e->generation = generation;
        e->in_model = model.emplace(e->effective, e);
        e->live_index = live.size();
        live.push_back(e);
        wheel.insert(e);
    };
    auto forget = [&](Entry* e) {
        model.erase(e->in_model);
        live[e->live_index] = live.back();
        live[e->live_index]->live_index = e->live_index;
        live.pop_back();
        free_list.push_back(e);
    };
    auto remove_random = [&] {
        if (live.empty()) return;
        Entry* e = live[rng() % live.size()];
        wheel.remove(e);
        forget(e);
    };

    for (int op = 0; op < 100000; ++op) {
        const auto dice = rng() % 100;
        if (dice < 45) {
            insert(wheel.elapsed());
        } else if (dice < 70) {
            remove_random();
        } else {
            const std::uint64_t before = wheel.elapsed();
            std::uint64_t now = before;
            switch (rng() % 8) {
                case 0:
                    now = before - std::min<std::uint64_t>(before, rng() % 10);
                    break;
                case 1:
                    now = before + rng() % 64;
                    break;
                case 2:
                    now = before + rng() % 4096;
                    break;
                case 3:
                    now = before + rng() % 300000;
                    break;
                case 4:
                    now = before + rng() % (1u << 26);
                    break;
                case 5:
                    now = before + rng() % (std::uint64_t{1} << 38);
                    break;
                default:
                    now = before + rng() % 8;
                    break;
            }
            const std::uint64_t target = std::max(now, before);
            ++generation;
            const bool meddle = rng() % 4 == 0;
            std::uint64_t last = 0;
            std::size_t delivered = 0;
            const std::size_t n = wheel.advance(now, [&](TimerNode* node) {
                auto* e = static_cast<Entry*>(node);
                REQUIRE_FALSE(e->linked());
                REQUIRE(e->generation != generation);  // inserted by on_due: next time
                REQUIRE(e->effective <= target);
                REQUIRE(e->effective >= last);
                REQUIRE(wheel.elapsed() == target);
                last = e->effective;
                forget(e);
                ++delivered;
                if (meddle && rng() % 3 == 0) remove_random();
                if (meddle && rng() % 3 == 0) insert(target);
            });
            REQUIRE(n == delivered);
            REQUIRE(wheel.elapsed() == target);
            for (auto it = model.begin(); it != model.end() && it->first <= target; ++it)
                REQUIRE(it->second->generation == generation);  // all others were delivered
        }

        REQUIRE(wheel.size() == model.size());
        if (model.empty()) {
            REQUIRE_FALSE(wheel.next_deadline());
        } else {
            require_bound(wheel, model.begin()->first);
        }
    }

    const std::size_t armed = model.size();
    REQUIRE(armed > 0);  // (so the drain below has work)
    std::size_t drained = 0;
    wheel.drain([&](TimerNode* node) {
        REQUIRE_FALSE(node->linked());
        forget(static_cast<Entry*>(node));
        ++drained;
    });
    REQUIRE(model.empty());
    REQUIRE(live.empty());
    REQUIRE(free_list.size() == kPool);
    REQUIRE(wheel.empty());
    CHECK(drained == armed);  // each armed entry handed back once
}

TEST_CASE("timer_wheel: a million timers armed, half cancelled, the rest fired", "[timer_wheel]") {
    constexpr std::size_t kCount = 1'000'000;
    constexpr std::uint64_t kSpan = std::uint64_t{1} << 22;  // ~70 minutes of ticks
    std::vector<Timer> timers(kCount);
    std::uint64_t state = 0x9e3779b97f4a7c15;
    TimerWheel wheel(0);
    std::size_t due_by_half = 0;
    for (std::size_t i = 0; i < kCount; ++i) {
        state = state * 6364136223846793005u + 1442695040888963407u;
        timers[i].deadline = 1 + (state >> 33) % kSpan;
        wheel.insert(&timers[i]);
        if (i % 2 == 0 && timers[i].deadline <= kSpan / 2) ++due_by_half;
    }
    REQUIRE(wheel.size() == kCount);
    for (std::size_t i = 1; i < kCount; i += 2) wheel.remove(&timers[i]);
    REQUIRE(wheel.size() == kCount / 2);

    std::uint64_t last = 0;
    std::size_t fired = 0;
    bool in_order = true;
    auto on_due = [&](TimerNode* node) {
        auto* t = static_cast<Timer*>(node);
        ++t->fired;
        in_order = in_order && t->deadline >= last;
        last = t->deadline;
        ++fired;
    };
    REQUIRE(wheel.advance(kSpan / 2, on_due) == due_by_half);
    REQUIRE(wheel.size() == kCount / 2 - due_by_half);
    // The rest in 1 ms steps, the way a worker loop sees time.
    std::size_t stepped = 0;
    for (std::uint64_t now = kSpan / 2 + 1; now <= kSpan; ++now) stepped += wheel.advance(now, on_due);
    REQUIRE(stepped == kCount / 2 - due_by_half);
    REQUIRE(fired == kCount / 2);
    REQUIRE(in_order);
    REQUIRE(wheel.empty());
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < kCount; ++i) wrong += timers[i].fired != (i % 2 == 0 ? 1 : 0);
    REQUIRE(wrong == 0);
}

TEST_CASE("timer_wheel: drain hands over every node once", "[timer_wheel]") {
    TimerWheel wheel(1000);
    const std::uint64_t deadlines[] = {3, 1000, 1001, 1064, 5000, 400000, 1u << 30, kRange + 5, 9 * kRange, UINT64_MAX};
    std::vector<Timer*> owned;
    for (std::uint64_t d : deadlines) {
        for (int copy = 0; copy < 3; ++copy) {
            auto* t = new Timer;
            t->deadline = d;
            wheel.insert(t);
            owned.push_back(t);
        }
    }
    REQUIRE(wheel.size() == owned.size());
    std::size_t drained = 0;
    std::map<std::uint64_t, int> seen;
    wheel.drain([&](TimerNode* node) {
        REQUIRE_FALSE(node->linked());
        ++seen[node->deadline];
        ++drained;
        delete static_cast<Timer*>(node);
    });
    REQUIRE(drained == owned.size());
    REQUIRE(seen.size() == std::size(deadlines));
    for (auto& [deadline, count] : seen) REQUIRE(count == 3);
    REQUIRE(wheel.empty());
    REQUIRE_FALSE(wheel.next_deadline());
    REQUIRE(advance(wheel, UINT64_MAX).empty());
}
