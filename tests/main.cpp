// The one Catch2 main of weft_tests; test files are tests/<component>_<concept>.cpp.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
