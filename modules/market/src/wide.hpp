#pragma once

namespace tp::market::detail {

// 128-bit intermediates for money arithmetic (GCC and Clang); __extension__ keeps -Wpedantic quiet.
__extension__ typedef __int128 Int128;

}  // namespace tp::market::detail
