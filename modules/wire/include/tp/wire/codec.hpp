#pragma once

// Envelope <-> bytes. The bytes are a standard Cap'n Proto stream-framed message (segment table,
// then segments) that fits one UDP datagram. Decoding trusts nothing: every malformed input gives
// a DecodeError naming what is wrong and where, never a crash or an exception.

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "tp/wire/message.hpp"

namespace tp::wire {

// Largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header).
inline constexpr std::size_t max_datagram_size = 65507;
inline constexpr std::size_t max_fills = 256;
inline constexpr std::size_t max_clock_entries = 4096;
// The largest counter a clock entry may hold (the clock's own ceiling).
inline constexpr std::uint64_t max_clock_counter = tp::clock::max_counter;
// Our encoder always writes one segment; other Cap'n Proto writers may split a message, so a few
// segments are accepted, but no more.
inline constexpr std::size_t max_segments = 8;
// Replication: entries in one Append, bytes in one entry's payload and in one snapshot chunk (the
// replication module's bounds), and the size a snapshot may claim.
inline constexpr std::size_t max_entries = tp::replication::max_entries_per_append;
inline constexpr std::size_t max_payload_bytes = tp::replication::max_payload_bytes;
inline constexpr std::size_t max_chunk_bytes = tp::replication::max_chunk_bytes;
inline constexpr std::uint64_t max_snapshot_bytes = std::uint64_t{1} << 30;

// Exact size of encode(envelope), in bytes.
std::size_t encoded_size(const Envelope& envelope);

// Encodes into the caller's buffer and returns the number of bytes written. Allocates nothing for
// ordinary messages. Throws std::length_error if `out` is too small or the envelope would not fit
// in one datagram, std::invalid_argument if a field breaks a limit or a rule the decoder enforces
// (an election or replication message's epoch not the envelope's: see Envelope); the message
// names the field.
std::size_t encode(const Envelope& envelope, std::span<std::byte> out);

// Convenience: a fresh buffer of exactly encoded_size(envelope) bytes.
std::vector<std::byte> encode(const Envelope& envelope);

enum class DecodeErrc : std::uint8_t {
    too_short,              // fewer bytes than a segment table and one word
    too_large,              // more than max_datagram_size
    not_word_aligned_size,  // Cap'n Proto messages are a whole number of 8-byte words
    bad_framing,            // segment table inconsistent with the bytes (count, sizes, trailing)
    wrong_version,          // protocol version is not protocol_version
    unknown_kind,           // union tag this build does not know (newer peer): log and drop
    list_too_long,          // a list or byte field beyond its limit (fills, clock, entries, data)
    traversal_limit,        // message claims to hold more data than one datagram could
    nesting_limit,          // pointers nested deeper than the schema allows
    bad_clock,              // clock entries unsorted, duplicated or zero
    invalid_value,          // a field outside its domain (unknown enum, epochs that disagree, a
                            // snapshot chunk beyond its total)
    malformed,              // any other structural fault (bad pointer, out of bounds, wrong type)
};

const char* to_string(DecodeErrc code) noexcept;
std::ostream& operator<<(std::ostream& out, DecodeErrc code);

struct DecodeError {
    DecodeErrc code;
    std::string detail;  // where and what, e.g. "body.buyResult.fills: 300 elements, limit 256"

    // "list_too_long: body.buyResult.fills: 300 elements, limit 256"
    std::string message() const;

    friend bool operator==(const DecodeError&, const DecodeError&) = default;
};

// Either an Envelope or a DecodeError (g++ 12 has no std::expected).
class DecodeResult {
public:
    DecodeResult(Envelope&& value) : v_(std::move(value)) {}
    DecodeResult(const Envelope& value) : v_(value) {}
    DecodeResult(DecodeError error) : v_(std::move(error)) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    // Throws std::logic_error (with the decode error's message) when there is no value.
    Envelope& value() &;
    const Envelope& value() const&;
    Envelope&& value() &&;

    // Precondition: !has_value().
    const DecodeError& error() const { return std::get<DecodeError>(v_); }

private:
    std::variant<Envelope, DecodeError> v_;
};

// Limits applied while decoding. The defaults are sized for one datagram of this schema; a peer
// tightens them to its market (limits_for_members), tests and tools as they need. The byte budget
// has two parts: replication messages carry the log's bytes and may fill a datagram, while every
// other kind is small, so a market holds those to the largest it can legally send.
struct DecodeLimits {
    // Words the reader may visit, counting amplification (e.g. lists of empty elements).
    std::uint64_t traversal_limit_words = (max_datagram_size + 7) / 8;
    // Pointer depth; the schema needs 4 (root -> envelope -> body -> fills -> fill, or entries ->
    // entry: a payload's bytes are no level).
    int nesting_limit = 8;
    // Bytes one message of a trading or election kind may take, at most max_datagram_size.
    std::size_t max_bytes = max_datagram_size;
    // Entries one clock may hold, at most max_clock_entries.
    std::size_t max_clock_entries = wire::max_clock_entries;
    // Bytes one replication message may take, at most max_datagram_size.
    std::size_t max_replication_bytes = max_datagram_size;
};

// The limits for a market of `members` peers: a clock names members only, so it has at most that
// many entries, and a trading or election message is at most the largest legal one with such a
// clock. A replication message may fill a datagram.
DecodeLimits limits_for_members(std::size_t members);

// Never throws for bad input; accepts buffers at any alignment.
DecodeResult decode(std::span<const std::byte> bytes, const DecodeLimits& limits = {});

}  // namespace tp::wire
