// Protocol between the signal handler and listeners (the handler may run on any thread,
// interrupting anything, so it only touches lock-free atomics and calls write(2)):
//  1. A listener claims a free slot under g_mutex: stores its eventfd, then its interest
//     mask (seq_cst), then installs the handler for signals nobody listened to yet.
//  2. The handler, for each slot: busy += 1; if interest has the signal, pending |= bit
//     and write(eventfd); busy -= 1. All seq_cst.
//  3. Releasing: interest = 0, then wait until busy == 0, then the eventfd may be closed.
//     A handler that raised busy before that wait is waited for; one that raises it after
//     the wait saw busy == 0 reads interest after it was cleared, so it skips the slot.
//  4. recv(): take pending; if empty, read the eventfd (awaiting it), then look again.
//     The handler sets pending before writing, so a signal is never lost between the two.
#include <weft/signal.hpp>

#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <mutex>
#include <thread>

#include <weft/detail/atomic.hpp>
#include <weft/error.hpp>
#include <weft/io_error.hpp>

namespace weft {

namespace {

using weft::detail::Atomic;
constexpr auto seq_cst = weft::detail::memory_order_seq_cst;
constexpr int kSlots = 64;
constexpr int kMaxSignal = 64;

struct Slot {
    Atomic<std::uint64_t> interest{0};
    Atomic<std::uint64_t> pending{0};
    Atomic<int> fd{-1};
    Atomic<int> busy{0};
    bool claimed = false;  // under g_mutex
};

std::array<Slot, kSlots> g_slots;
std::mutex g_mutex;
std::array<int, kMaxSignal + 1> g_listeners{};  // per signal, under g_mutex
std::array<struct sigaction, kMaxSignal + 1> g_previous{};

constexpr std::uint64_t bit_of(int signal) noexcept { return std::uint64_t{1} << (signal - 1); }

void on_signal(int signal) {
    int saved_errno = errno;
    std::uint64_t bit = bit_of(signal);
    for (Slot& slot : g_slots) {
        slot.busy.fetch_add(1, seq_cst);
        if (slot.interest.load(seq_cst) & bit) {
            slot.pending.fetch_or(bit, seq_cst);
            std::uint64_t one = 1;
            [[maybe_unused]] ssize_t n = ::write(slot.fd.load(seq_cst), &one, sizeof one);
        }
        slot.busy.fetch_sub(1, seq_cst);
    }
    errno = saved_errno;
}

void install(int signal) {
    struct sigaction action{};
    action.sa_handler = on_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (::sigaction(signal, &action, &g_previous[signal]) != 0)
        throw_io_error(errno, "weft::SignalListener: sigaction(" + std::to_string(signal) + ")");
}

}  // namespace

SignalListener::SignalListener(const std::vector<int>& signals) {
    for (int signal : signals) {
        if (signal < 1 || signal > kMaxSignal || signal == SIGKILL || signal == SIGSTOP)
            throw UsageError("weft::SignalListener: cannot catch signal " + std::to_string(signal));
        mask_ |= bit_of(signal);
    }
    int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) throw_io_error(errno, "weft::SignalListener: eventfd");
    wakeups_ = net::PipeReader(fd);

    std::lock_guard lock(g_mutex);
    for (int i = 0; i < kSlots; ++i) {
        if (!g_slots[i].claimed) {
            slot_ = i;
            break;
        }
    }
    if (slot_ < 0) throw UsageError("weft::SignalListener: more than 64 listeners at once");
    for (int signal = 1; signal <= kMaxSignal; ++signal) {
        if ((mask_ & bit_of(signal)) && g_listeners[signal] == 0) {
            try {
                install(signal);
            } catch (...) {  // undo what this constructor installed
                for (int s = 1; s < signal; ++s) {
                    if ((mask_ & bit_of(s)) && g_listeners[s] == 0) ::sigaction(s, &g_previous[s], nullptr);
                }
                throw;
            }
        }
    }
    for (int signal = 1; signal <= kMaxSignal; ++signal) {
        if (mask_ & bit_of(signal)) ++g_listeners[signal];
    }
    Slot& slot = g_slots[slot_];
    slot.claimed = true;
    slot.pending.store(0, seq_cst);
    slot.fd.store(fd, seq_cst);
    slot.interest.store(mask_, seq_cst);
}

SignalListener::~SignalListener() {
    std::lock_guard lock(g_mutex);
    Slot& slot = g_slots[slot_];
    slot.interest.store(0, seq_cst);
    while (slot.busy.load(seq_cst) != 0) std::this_thread::yield();
    slot.fd.store(-1, seq_cst);
    slot.claimed = false;
    for (int signal = 1; signal <= kMaxSignal; ++signal) {
        if ((mask_ & bit_of(signal)) && --g_listeners[signal] == 0) ::sigaction(signal, &g_previous[signal], nullptr);
    }
    // wakeups_ closes the eventfd after this.
}

Task<int> SignalListener::recv() {
    Slot& slot = g_slots[slot_];
    for (;;) {
        std::uint64_t pending = slot.pending.exchange(0, seq_cst);
        if (pending) {
            std::uint64_t lowest = pending & (~pending + 1);
            if (pending != lowest) slot.pending.fetch_or(pending & ~lowest, seq_cst);  // the rest stay queued
            co_return std::countr_zero(lowest) + 1;
        }
        std::uint64_t count = 0;
        co_await wakeups_.read(&count, sizeof count);
    }
}

Task<int> signal(std::vector<int> signals) {
    SignalListener listener(signals);
    co_return co_await listener.recv();
}

}  // namespace weft
