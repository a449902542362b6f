#include "tp/auth/replay_window.hpp"

namespace tp::auth {

bool ReplayWindow::seen(std::uint64_t sequence) const noexcept {
    const std::uint64_t bit = sequence % width;
    return (bits_[bit / 64] >> (bit % 64)) & 1u;
}

ReplayWindow::Verdict ReplayWindow::check(std::uint32_t incarnation,
                                          std::uint64_t sequence) const noexcept {
    if (sequence == 0) return Verdict::zero_sequence;
    if (incarnation < incarnation_) return Verdict::old_incarnation;
    if (incarnation > incarnation_ || sequence > highest_) return Verdict::fresh;
    if (highest_ - sequence >= width) return Verdict::too_old;
    return seen(sequence) ? Verdict::replayed : Verdict::fresh;
}

ReplayWindow ReplayWindow::resumed(std::uint32_t incarnation, std::uint64_t highest) noexcept {
    ReplayWindow w;
    w.incarnation_ = incarnation;
    w.highest_ = highest;
    w.bits_.fill(~std::uint64_t{0});  // every sequence in the window counts as seen
    return w;
}

void ReplayWindow::accept(std::uint32_t incarnation, std::uint64_t sequence) noexcept {
    if (incarnation > incarnation_) {
        incarnation_ = incarnation;
        highest_ = 0;
        bits_.fill(0);
    }
    if (sequence > highest_) {
        // Clear the bits of the sequences the window slides over (all of them after a long jump).
        if (sequence - highest_ >= width) {
            bits_.fill(0);
        } else {
            for (std::uint64_t s = highest_ + 1; s < sequence; ++s) {
                const std::uint64_t bit = s % width;
                bits_[bit / 64] &= ~(std::uint64_t{1} << (bit % 64));
            }
        }
        highest_ = sequence;
    }
    const std::uint64_t bit = sequence % width;
    bits_[bit / 64] |= std::uint64_t{1} << (bit % 64);
}

const char* to_string(ReplayWindow::Verdict verdict) noexcept {
    switch (verdict) {
        case ReplayWindow::Verdict::fresh: return "fresh";
        case ReplayWindow::Verdict::replayed: return "replayed";
        case ReplayWindow::Verdict::too_old: return "too old";
        case ReplayWindow::Verdict::old_incarnation: return "old incarnation";
        case ReplayWindow::Verdict::zero_sequence: return "zero sequence";
    }
    return "?";
}

}  // namespace tp::auth
