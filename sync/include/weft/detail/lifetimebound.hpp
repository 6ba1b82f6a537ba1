// WEFT_LIFETIMEBOUND: marks a parameter (or, after a member function's parameter list, the
// object itself) that the result refers to, so clang warns about a dangling awaiter or view:
//
//   auto waiting = weft::Lock().lock();   // warning: the temporary Lock dies at the ';'
//
// Empty for other compilers.
#pragma once

#ifndef WEFT_LIFETIMEBOUND
#if defined(__clang__)
#define WEFT_LIFETIMEBOUND [[clang::lifetimebound]]
#else
#define WEFT_LIFETIMEBOUND
#endif
#endif
