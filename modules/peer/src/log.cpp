#include "tp/peer/log.hpp"

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

std::shared_ptr<spdlog::sinks::sink> sink() {
    if (!sink_) {
        sink_ = std::make_shared<spdlog::sinks::stdout_sink_mt>();
        sink_->set_pattern("%d.%m.%Y %H:%M:%S.%e [%n] %v");
    }
    return sink_;
}

spdlog::level::level_enum effective_level() {
    return options_.quiet && options_.level < spdlog::level::warn ? spdlog::level::warn
                                                                  : options_.level;
}

}  // namespace

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
