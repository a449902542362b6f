#include "tp/sim/faults.hpp"

#include <fmt/core.h>

#include <iterator>
#include <stdexcept>
#include <vector>

namespace tp::sim {

namespace {

using namespace std::chrono_literals;

struct Name {
    const char* word;
    Fault fault;
};
constexpr Name names[] = {
    {"drop", Fault::drop},       {"duplicate", Fault::duplicate}, {"delay", Fault::delay},
    {"reorder", Fault::reorder}, {"partition", Fault::partition}, {"crash", Fault::crash},
    {"pause", Fault::pause},     {"hostile", Fault::hostile},     {"outsider", Fault::outsider},
    {"disk_loss", Fault::disk_loss}, {"churn", Fault::churn},    {"set_split", Fault::set_split}};
// The first kinds, drawn first in a swarm plan: later kinds are drawn after every earlier draw,
// so adding a kind leaves the older kinds' rates of every seed as they were.
constexpr std::size_t first_kinds = 6;
constexpr std::size_t second_kinds = 8;  // pause and hostile; the outsider came after them
constexpr std::size_t third_kinds = 9;   // the outsider; disk loss came after it
constexpr std::size_t fourth_kinds = 10;  // disk loss; churn came after it
constexpr std::size_t random_kinds = 11;  // the rest are aimed: asked for by name, never in "all"
constexpr std::uint16_t all_kinds = (1u << random_kinds) - 1;
static_assert(std::size(names) <= 16, "Fault bits are a uint16_t");

Duration uniform(runtime::Rng& rng, Duration lo, Duration hi) {
    return Duration(static_cast<Duration::rep>(rng.uniform_int(
        static_cast<std::uint64_t>(lo.count()), static_cast<std::uint64_t>(hi.count()))));
}

}  // namespace

FaultSpec FaultSpec::parse(std::string_view text) {
    FaultSpec spec;
    if (text == "swarm") return spec;
    spec.swarm = false;
    if (text == "none") return spec;
    if (text == "all") {
        spec.kinds = all_kinds;
        return spec;
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find(',', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view word = text.substr(start, end - start);
        bool known = false;
        for (const auto& n : names) {
            if (word == n.word) {
                spec.kinds |= static_cast<std::uint16_t>(n.fault);
                known = true;
            }
        }
        if (!known) {
            throw std::invalid_argument(fmt::format(
                "--faults: unknown fault '{}' at character {} (expected swarm, none, all, or a "
                "comma list of drop, duplicate, delay, reorder, partition, crash, pause, "
                "hostile, outsider, disk_loss, churn, set_split)",
                word, start + 1));
        }
        start = end + 1;
    }
    return spec;
}

std::string FaultSpec::to_string() const {
    if (swarm) return "swarm";
    if (kinds == 0) return "none";
    if (kinds == all_kinds) return "all";
    std::string out;
    for (const auto& n : names) {
        if ((kinds & static_cast<std::uint16_t>(n.fault)) == 0) continue;
        if (!out.empty()) out += ',';
        out += n.word;
    }
    return out;
}

FaultPlan FaultPlan::draw(const FaultSpec& spec, runtime::Rng& rng) {
    FaultPlan plan;
    // Every draw happens whatever the spec, so a kind's rates depend on the seed alone.
    std::uint16_t swarm_kinds = 0;
    for (std::size_t i = 0; i < first_kinds; ++i) {
        if (rng.bernoulli(0.5)) swarm_kinds |= static_cast<std::uint16_t>(names[i].fault);
    }
    if (swarm_kinds == 0) swarm_kinds = static_cast<std::uint16_t>(Fault::crash);

    const double drop = rng.uniform_real(0.005, 0.15);
    const double duplicate = rng.uniform_real(0.005, 0.15);
    const Duration jitter = uniform(rng, 100us, 20ms);
    const bool exponential = rng.bernoulli(0.5);
    const double reorder = rng.uniform_real(0.02, 0.3);
    const Duration reorder_delay = uniform(rng, 1ms, 30ms);
    const Duration partition_every = uniform(rng, 200ms, 1500ms);
    const Duration partition_for = uniform(rng, 20ms, 600ms);
    const Duration crash_every = uniform(rng, 100ms, 1000ms);
    const double crash_trader = rng.uniform_real(0.3, 0.9);
    const Duration restart_after = uniform(rng, 10ms, 800ms);
    plan.sync_latency = uniform(rng, 100us, 4ms);
    for (std::size_t i = first_kinds; i < second_kinds; ++i) {
        if (rng.bernoulli(0.5)) swarm_kinds |= static_cast<std::uint16_t>(names[i].fault);
    }
    const Duration pause_every = uniform(rng, 200ms, 1500ms);
    const Duration pause_for = uniform(rng, 20ms, 800ms);
    const double pause_trader = rng.uniform_real(0.3, 0.9);
    const Duration hostile_every = uniform(rng, 5ms, 200ms);
    for (std::size_t i = second_kinds; i < third_kinds; ++i) {
        if (rng.bernoulli(0.5)) swarm_kinds |= static_cast<std::uint16_t>(names[i].fault);
    }
    const Duration outsider_every = uniform(rng, 2ms, 100ms);
    for (std::size_t i = third_kinds; i < fourth_kinds; ++i) {
        if (rng.bernoulli(0.5)) swarm_kinds |= static_cast<std::uint16_t>(names[i].fault);
    }
    const double disk_loss = rng.uniform_real(0.2, 0.8);
    const double stale_copy = rng.uniform_real(0.0, 0.5);
    for (std::size_t i = fourth_kinds; i < random_kinds; ++i) {
        if (rng.bernoulli(0.5)) swarm_kinds |= static_cast<std::uint16_t>(names[i].fault);
    }
    const Duration churn_every = uniform(rng, 20ms, 300ms);
    const double leave_share = rng.uniform_real(0.3, 0.6);
    // Churn is asked for by name until it is clean with every other kind (issue 18): the swarm
    // draws it, for stable plans later, but leaves it out.
    swarm_kinds &= static_cast<std::uint16_t>(~static_cast<std::uint16_t>(Fault::churn));
    const Duration split_for = uniform(rng, 100ms, 800ms);
    plan.kinds = spec.swarm ? swarm_kinds : spec.kinds;

    // A message always takes a little time: the fixed part of every link's delay.
    plan.link.delay.fixed = 100us;
    if (plan.has(Fault::drop)) plan.link.drop = drop;
    if (plan.has(Fault::duplicate)) plan.link.duplicate = duplicate;
    if (plan.has(Fault::delay)) {
        plan.link.delay.jitter = jitter;
        plan.link.delay.kind =
            exponential ? transport::Delay::Jitter::exponential : transport::Delay::Jitter::uniform;
    }
    if (plan.has(Fault::reorder)) {
        plan.link.reorder = reorder;
        plan.link.reorder_delay = reorder_delay;
    }
    if (plan.has(Fault::partition)) {
        plan.partition_every = partition_every;
        plan.partition_for = partition_for;
    }
    if (plan.has(Fault::crash)) {
        plan.crash_every = crash_every;
        plan.crash_trader = crash_trader;
        plan.restart_after = restart_after;
    }
    if (plan.has(Fault::pause)) {
        plan.pause_every = pause_every;
        plan.pause_for = pause_for;
        plan.pause_trader = pause_trader;
    }
    if (plan.has(Fault::hostile)) plan.hostile_every = hostile_every;
    if (plan.has(Fault::outsider)) plan.outsider_every = outsider_every;
    if (plan.has(Fault::disk_loss)) {
        plan.disk_loss = disk_loss;
        plan.stale_copy = stale_copy;
    }
    if (plan.has(Fault::churn)) {
        plan.churn_every = churn_every;
        plan.leave_share = leave_share;
    }
    if (plan.has(Fault::set_split)) plan.split_for = split_for;
    return plan;
}

std::string format_duration(Duration d) {
    const auto ns = d.count();
    if (ns % 1'000'000'000 == 0 && ns != 0) return fmt::format("{}s", ns / 1'000'000'000);
    if (ns >= 1'000'000) return fmt::format("{:.1f}ms", static_cast<double>(ns) / 1e6);
    return fmt::format("{}us", ns / 1000);
}

std::string FaultPlan::describe() const {
    std::vector<std::string> parts;
    if (has(Fault::drop)) parts.push_back(fmt::format("drop {:.1f}%", link.drop * 100));
    if (has(Fault::duplicate))
        parts.push_back(fmt::format("duplicate {:.1f}%", link.duplicate * 100));
    if (has(Fault::delay))
        parts.push_back(fmt::format(
            "delay +{} {}", format_duration(link.delay.jitter),
            link.delay.kind == transport::Delay::Jitter::exponential ? "exponential" : "uniform"));
    if (has(Fault::reorder))
        parts.push_back(fmt::format("reorder {:.1f}% by {}", link.reorder * 100,
                                    format_duration(link.reorder_delay)));
    if (has(Fault::partition))
        parts.push_back(fmt::format("partition every ~{} for ~{}", format_duration(partition_every),
                                    format_duration(partition_for)));
    if (has(Fault::crash))
        parts.push_back(fmt::format("crash every ~{} (trader {:.0f}%), down ~{}",
                                    format_duration(crash_every), crash_trader * 100,
                                    format_duration(restart_after)));
    if (has(Fault::pause))
        parts.push_back(fmt::format("pause every ~{} (trader {:.0f}%) for ~{}",
                                    format_duration(pause_every), pause_trader * 100,
                                    format_duration(pause_for)));
    if (has(Fault::hostile))
        parts.push_back(fmt::format("hostile member every ~{}", format_duration(hostile_every)));
    if (has(Fault::outsider))
        parts.push_back(
            fmt::format("outsider (no key) every ~{}", format_duration(outsider_every)));
    if (has(Fault::disk_loss))
        parts.push_back(fmt::format("a crash loses the disk {:.0f}% (stale copy {:.0f}%)",
                                    disk_loss * 100, stale_copy * 100));
    if (has(Fault::churn))
        parts.push_back(fmt::format("a join or leave every ~{} (leaves {:.0f}%)",
                                    format_duration(churn_every), leave_share * 100));
    if (has(Fault::set_split))
        parts.push_back(fmt::format("two replicas leave at once as the set splits for ~{}",
                                    format_duration(split_for)));
    if (parts.empty()) parts.push_back("no faults");
    parts.push_back(fmt::format("fsync {}", format_duration(sync_latency)));
    std::string out;
    for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
    return out;
}

}  // namespace tp::sim
