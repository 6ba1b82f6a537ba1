// weft — the umbrella header: everything a user of weft:: needs, in one include.
//
//     #include <weft/weft.hpp>
//
//     weft::Task<int> answer() { co_return 42; }
//     int main() { return weft::run(answer()) == 42 ? 0 : 1; }
//
// Link weft::weft. Components include only their own headers; this one grows with them.
#pragma once

#include <weft/current_task.hpp>
#include <weft/error.hpp>
#include <weft/join_handle.hpp>
#include <weft/run.hpp>
#include <weft/runtime.hpp>
#include <weft/spawn.hpp>
#include <weft/task.hpp>
#include <weft/yield.hpp>
