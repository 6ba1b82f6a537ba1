#include <weft/weft.hpp>
// A user who does not call compute() compiles no oneTBB header (<weft/compute.hpp> brings it).
#ifdef __TBB_detail__config_H
#error "<weft/weft.hpp> included oneTBB's headers"
#endif
#include <weft/compute.hpp>
#ifndef __TBB_detail__config_H
#error "<weft/compute.hpp> should bring oneTBB's headers (compute callables use them)"
#endif

// Under ThreadSanitizer (the tsan preset builds this consumer with its flags): libtbb.so is not
// instrumented, so its task hand-offs look like races; as in tests/exec_compute.cpp.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
extern "C" const char* __tsan_default_suppressions() { return "race:tbb::detail\nrace:libtbb.so\n"; }
#endif
#endif

weft::Task<int> answer() {
    co_return co_await weft::compute([] { return 42; });
}
int main() { return weft::run(answer()) == 42 ? 0 : 1; }
