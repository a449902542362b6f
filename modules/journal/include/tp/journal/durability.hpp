#pragma once

#include <string_view>
#include <utility>

namespace tp::journal {

enum class Durability {
    every,  // append() returns after fdatasync: every record is durable on its own
    group,  // append() buffers; sync() writes the buffer and fdatasyncs, for many records at once
    none,   // append() buffers; sync() only writes the buffer: the page cache decides, and a
            // power failure may lose recent records (a process crash loses nothing sync()
            // returned for)
};

// Every level with its name: the one table behind to_string, parse_durability, the peer's
// configuration and the command line.
inline constexpr std::pair<const char*, Durability> durability_names[] = {
    {"every", Durability::every},
    {"group", Durability::group},
    {"none", Durability::none},
};

const char* to_string(Durability durability) noexcept;
// "every", "group" or "none"; throws std::invalid_argument naming the value otherwise.
Durability parse_durability(std::string_view name);

}  // namespace tp::journal
