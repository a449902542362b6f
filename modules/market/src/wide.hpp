#pragma once

#include <string>

namespace tp::market::detail {

// 128-bit intermediates for money arithmetic (GCC and Clang); __extension__ keeps -Wpedantic quiet.
__extension__ typedef __int128 Int128;

// Decimal text of a 128-bit value (std::to_string has no overload for it).
inline std::string to_string(Int128 v) {
    if (v == 0) return "0";
    const bool negative = v < 0;
    std::string digits;
    while (v != 0) {
        const int d = static_cast<int>(v % 10);
        digits.push_back(static_cast<char>('0' + (d < 0 ? -d : d)));
        v /= 10;
    }
    if (negative) digits.push_back('-');
    return std::string(digits.rbegin(), digits.rend());
}

}  // namespace tp::market::detail
