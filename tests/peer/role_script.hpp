#pragma once

// What the Buyer and Seller tests share: a logger whose lines a test can read, explicit times,
// and the envelopes a trader would send.

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tp/peer/outbox.hpp"
#include "tp/wire/message.hpp"

namespace role_script {

using tp::peer::Time;

inline Time ms(long n) {
    return std::chrono::milliseconds(n);
}

// A core's next deadline in whole milliseconds, -1 for none (printable in a failed check).
inline long deadline_ms(std::optional<Time> deadline) {
    return deadline ? static_cast<long>(
                          std::chrono::duration_cast<std::chrono::milliseconds>(*deadline).count())
                    : -1;
}

// Every line the core logs, as "level: message".
struct CapturedLog {
    std::ostringstream out;
    std::shared_ptr<spdlog::logger> logger;

    CapturedLog()
        : logger(std::make_shared<spdlog::logger>(
              "core", std::make_shared<spdlog::sinks::ostream_sink_st>(out))) {
        logger->set_pattern("%l: %v");
        logger->set_level(spdlog::level::trace);
    }

    std::vector<std::string> lines() const {
        std::vector<std::string> result;
        std::istringstream in(out.str());
        for (std::string line; std::getline(in, line);) result.push_back(line);
        return result;
    }

    std::size_t count(const std::string& text) const {
        std::size_t n = 0;
        for (const auto& line : lines()) n += line.find(text) != std::string::npos ? 1 : 0;
        return n;
    }
};

// A message from `trader` in `epoch`, as PeerCore hands it on once it has checked the sender.
inline tp::wire::Envelope from_trader(tp::peer::PeerId trader, tp::peer::PeerId self,
                                      tp::wire::Body body, tp::wire::Epoch epoch = 1) {
    tp::wire::Envelope e;
    e.sender = trader;
    e.receiver = self;
    e.epoch = epoch;
    e.body = std::move(body);
    return e;
}

}  // namespace role_script
