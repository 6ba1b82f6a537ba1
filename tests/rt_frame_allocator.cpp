// The frame allocator: blocks carry no header, so it relies on the compiler passing a
// frame's size to the promise's sized operator delete, and on slabs naming their pool.
#include <catch2/catch.hpp>

#include <weft/detail/frame_allocator.hpp>

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

#ifdef WEFT_PLAIN_FRAMES
constexpr bool kPooled = false;  // sanitizer builds: every frame from operator new
#else
constexpr bool kPooled = true;
#endif

// A coroutine type whose promise records what operator new was given and checks what
// operator delete is given (as weft::Task's promise relies on it).
struct SizeRecord {
    std::size_t allocations = 0;
    std::size_t matched_frees = 0;
    std::size_t mismatched_frees = 0;
    std::vector<std::pair<void*, std::size_t>> live;
};
thread_local SizeRecord record;

struct Probe {
    struct promise_type {
        static void* operator new(std::size_t size) {
            void* frame = weft::detail::allocate_frame(size);
            record.live.emplace_back(frame, size);
            ++record.allocations;
            return frame;
        }
        static void operator delete(void* frame, std::size_t size) noexcept {
            for (auto& [address, allocated] : record.live) {
                if (address != frame) continue;
                (allocated == size ? record.matched_frees : record.mismatched_frees) += 1;
                address = nullptr;
            }
            weft::detail::free_frame(frame, size);
        }
        Probe get_return_object() { return Probe{std::coroutine_handle<promise_type>::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_value(std::uint64_t v) noexcept { value = v; }
        void unhandled_exception() noexcept {}
        std::uint64_t value = 0;
    };
    std::coroutine_handle<promise_type> handle;
};

Probe small(std::uint64_t x) { co_return x + 1; }

template <std::size_t Bytes>
Probe with_locals(std::uint64_t x) {
    std::array<unsigned char, Bytes> scratch{};
    scratch[x % Bytes] = 7;
    co_await std::suspend_always{};  // keeps scratch in the frame
    co_return scratch[x % Bytes] + x;
}

}  // namespace

TEST_CASE("the compiler passes each frame's allocated size to the promise's operator delete", "[frames]") {
    record = {};
    const bool run_first = GENERATE(false, true);
    CAPTURE(run_first);
    std::vector<Probe> probes;
    for (std::uint64_t i = 0; i < 50; ++i) {
        probes.push_back(small(i));
        probes.push_back(with_locals<40>(i));
        probes.push_back(with_locals<600>(i));
        probes.push_back(with_locals<5000>(i));  // past the pooled sizes: operator new
    }
    if (run_first) {
        for (Probe& probe : probes) {
            while (!probe.handle.done()) probe.handle.resume();
        }
    }
    for (Probe& probe : probes) probe.handle.destroy();
    REQUIRE(record.allocations == probes.size());
    REQUIRE(record.mismatched_frees == 0);
    REQUIRE(record.matched_frees == probes.size());
}

TEST_CASE("blocks of every pooled size stay apart and come back for reuse", "[frames]") {
    namespace frames = weft::detail::frames;
    std::size_t count = 0, aligned = 0, intact = 0;
    bool newest_came_back = false;
    // A thread of its own, whose pool holds only what this test frees into it (or what an
    // exited thread left: pools are adopted); the assertions run here, after it joined.
    std::thread fresh([&] {
        std::vector<std::pair<unsigned char*, std::size_t>> blocks;
        for (std::size_t size = 1; size <= frames::kClasses * frames::kGranule; size += 13) {
            for (int copy = 0; copy < 3; ++copy) {
                auto* block = static_cast<unsigned char*>(weft::detail::allocate_frame(size));
                aligned += reinterpret_cast<std::uintptr_t>(block) % 16 == 0;
                std::memset(block, static_cast<int>(blocks.size() & 0xff), size);
                blocks.emplace_back(block, size);
            }
        }
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            auto [block, size] = blocks[i];
            bool same = true;
            for (std::size_t b = 0; b < size; ++b) same = same && block[b] == static_cast<unsigned char>(i & 0xff);
            intact += same;
        }
        count = blocks.size();
        for (auto [block, size] : blocks) weft::detail::free_frame(block, size);
        // Freed on their owner: the same class hands the newest one back.
        auto [last, last_size] = blocks.back();
        void* again = weft::detail::allocate_frame(last_size);
        newest_came_back = again == last;
        weft::detail::free_frame(again, last_size);
    });
    fresh.join();
    REQUIRE(aligned == count);
    REQUIRE(intact == count);  // no block overlapped another
    if (kPooled) REQUIRE(newest_came_back);  // (operator new promises no reuse)
}

TEST_CASE("a frame freed on another thread returns to its owner's pool", "[frames]") {
    static constexpr std::size_t kSize = 200;  // (static: g++ 12 would want lambdas to capture it)
    const int rounds = 200;
    int returned = 0;
    std::thread owner([&] {
        for (int i = 0; i < rounds; ++i) {
            void* frame = weft::detail::allocate_frame(kSize);
            std::thread other([frame] { weft::detail::free_frame(frame, kSize); });
            other.join();
            if (!kPooled) continue;  // (operator new promises no reuse: the free is what is tested)
            // Blocks of this class already free here (a pool may be adopted from a thread
            // that exited) come first; then the remote list is taken back, with ours.
            std::vector<void*> taken;
            for (int tries = 0; tries < 100'000; ++tries) {
                taken.push_back(weft::detail::allocate_frame(kSize));
                if (taken.back() == frame) {
                    ++returned;
                    break;
                }
            }
            for (void* block : taken) weft::detail::free_frame(block, kSize);
        }
    });
    owner.join();
    if (kPooled) REQUIRE(returned == rounds);
}
