#pragma once

// Boost.Test's data test cases, for every test that uses them. Boost names each data case
// `"_" + std::string` (test_case.hpp), which g++ 12 at -O3 flags with a bogus -Wrestrict (GCC bug
// 105329); silenced for that header only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wrestrict"
#endif
#include <boost/test/data/test_case.hpp>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
