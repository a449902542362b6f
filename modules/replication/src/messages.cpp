#include "tp/replication/messages.hpp"

namespace tp::replication {

const char* to_string(Refusal refusal) noexcept {
    switch (refusal) {
        case Refusal::none: return "none";
        case Refusal::stale_epoch: return "stale_epoch";
        case Refusal::gap: return "gap";
        case Refusal::mismatch: return "mismatch";
        case Refusal::bad_crc: return "bad_crc";
        case Refusal::out_of_order: return "out_of_order";
        case Refusal::beyond_log: return "beyond_log";
        case Refusal::conflict: return "conflict";
        case Refusal::too_large: return "too_large";
    }
    return "unknown";
}

namespace {

template <class... F>
struct overloaded : F... {
    using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

const char* kind_name(const Message& message) noexcept {
    static constexpr const char* names[] = {"append",   "append_ack", "start_view",     "recover",
                                            "log_state", "fetch",      "snapshot_chunk", "snapshot_ack"};
    static_assert(std::size(names) == std::variant_size_v<Message>);
    return names[message.index()];
}

Epoch epoch_of(const Message& message) noexcept {
    return std::visit(overloaded{[](const Recover&) -> Epoch { return 0; },
                                 [](const auto& m) -> Epoch { return m.epoch; }},
                      message);
}

}  // namespace tp::replication
