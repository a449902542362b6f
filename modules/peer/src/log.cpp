#include "tp/peer/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <stdexcept>
#include <string>

namespace tp::peer {

namespace {

std::mutex mutex_;
LogOptions options_;
std::shared_ptr<spdlog::sinks::sink> sink_;

// "%*": nothing for info and below (the seed's lines keep their shape), "warning: " or
// "error: " before a message that is one, so a reader sees at once what went wrong.
class LevelPrefix final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const std::string_view prefix = level_prefix(msg.level);
        dest.append(prefix.data(), prefix.data() + prefix.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<LevelPrefix>();
    }
};

std::shared_ptr<spdlog::sinks::sink> sink() {
    if (!sink_) {
        sink_ = std::make_shared<spdlog::sinks::stdout_sink_mt>();
        sink_->set_formatter(make_log_formatter());
    }
    return sink_;
}

spdlog::level::level_enum effective_level() {
    return options_.quiet && options_.level < spdlog::level::warn ? spdlog::level::warn
                                                                  : options_.level;
}

}  // namespace

std::string_view level_prefix(spdlog::level::level_enum level) noexcept {
    switch (level) {
        case spdlog::level::warn: return "warning: ";
        case spdlog::level::err: return "error: ";
        case spdlog::level::critical: return "critical: ";
        default: return "";
    }
}

std::unique_ptr<spdlog::formatter> make_log_formatter() {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<LevelPrefix>('*').set_pattern("%d.%m.%Y %H:%M:%S.%e [%n] %*%v");
    return formatter;
}

void configure_logging(const LogOptions& options) {
    std::lock_guard lock(mutex_);
    options_ = options;
    spdlog::apply_all(
        [](const std::shared_ptr<spdlog::logger>& l) { l->set_level(effective_level()); });
}

std::shared_ptr<spdlog::logger> peer_logger(std::uint32_t id) {
    std::lock_guard lock(mutex_);
    const std::string name = "peer " + std::to_string(id);
    if (auto existing = spdlog::get(name)) return existing;
    auto logger = std::make_shared<spdlog::logger>(name, sink());
    logger->set_level(effective_level());
    spdlog::register_logger(logger);
    return logger;
}

spdlog::level::level_enum parse_log_level(std::string_view text) {
    const auto level = spdlog::level::from_str(std::string(text));
    if (level == spdlog::level::off && text != "off") {
        throw std::invalid_argument("unknown log level '" + std::string(text) +
                                    "' (trace, debug, info, warn, error, off)");
    }
    return level;
}

}  // namespace tp::peer
