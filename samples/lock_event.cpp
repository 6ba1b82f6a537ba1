// lock_event: asyncio.Lock and asyncio.Event. Tasks run in parallel on several workers in
// weft, so a read-modify-write that awaits in the middle needs a Lock (in asyncio too: the
// await lets another task in). An Event lets many tasks wait for one signal: here every
// teller waits until the bank opens. Checks the final balance exactly.
#include <weft/weft.hpp>

#include <iostream>
#include <vector>

struct Account {
    long long balance = 0;  // guarded by `lock`
    weft::Lock lock;
};

// readme: begin teller
weft::Task<void> teller(Account& account, weft::Event& open, int deposits) {
    co_await open.wait();  // await open_event.wait()
    for (int i = 0; i < deposits; ++i) {
        //   async with account.lock:
        //       balance = account.balance
        //       await asyncio.sleep(0)
        //       account.balance = balance + 1
        auto held = co_await account.lock.lock();
        long long balance = account.balance;
        co_await weft::yield_now();  // other tellers run here; without the lock they would
        account.balance = balance + 1;  // overwrite each other's deposits
    }  // `held` unlocks
}
// readme: end teller

weft::Task<long long> bank(int tellers, int deposits) {
    Account account;
    // readme: begin event
    weft::Event open;
    std::vector<weft::JoinHandle<void>> staff;
    for (int t = 0; t < tellers; ++t) staff.push_back(weft::spawn(teller(account, open, deposits)));
    std::cout << "tellers waiting for the bank to open; balance " << account.balance << '\n';
    open.set();  // open_event.set(): every waiting teller starts
    for (auto& handle : staff) co_await std::move(handle);
    // readme: end event
    co_return account.balance;
}

int main() {
    const int tellers = 8, deposits = 1000;
    long long balance = weft::run(bank(tellers, deposits), weft::RuntimeOptions{.workers = 2});
    std::cout << "balance " << balance << '\n';
    if (balance != tellers * deposits) return 1;
    std::cout << "lock_event: 8 tellers x 1000 deposits after one Event, balance 8000, none lost\n";
}
