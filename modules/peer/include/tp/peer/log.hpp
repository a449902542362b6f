#pragma once

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include <cstdint>
#include <memory>
#include <string_view>

namespace tp::peer {

// Logs keep the seed's shape: "DD.MM.YYYY HH:MM:SS.mmm [peer N] message"; warnings and errors
// name their level: "DD.MM.YYYY HH:MM:SS.mmm [peer N] warning: message".
// All peers of a process share one sink; each has its own named logger.
struct LogOptions {
    spdlog::level::level_enum level = spdlog::level::info;
    bool quiet = false;  // only warnings and errors
};

void configure_logging(const LogOptions& options);

std::shared_ptr<spdlog::logger> peer_logger(std::uint32_t id);

// What a line of `level` shows before its message: "" up to info, "warning: ", "error: ".
std::string_view level_prefix(spdlog::level::level_enum level) noexcept;

// The formatter every peer's log uses (exposed so a test can format a line without stdout).
std::unique_ptr<spdlog::formatter> make_log_formatter();

// Parses "trace", "debug", "info", "warn", "error", "off"; throws std::invalid_argument.
spdlog::level::level_enum parse_log_level(std::string_view text);

}  // namespace tp::peer
