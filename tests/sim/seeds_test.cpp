// The sim suite: a range of seeds of a 6-peer market with swarm faults, each checked by the
// invariant checker at every step and at the end; a determinism check; and the pieces the
// simulator is built from (fault specs, the power-loss model, the exporters).
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <sstream>

#include "sim_seeds.hpp"
#include "tp/journal/log.hpp"
#include "tp/sim/export.hpp"
#include "tp/sim/faults.hpp"

namespace tp::sim_test {

BOOST_AUTO_TEST_CASE(every_seed_of_the_range_passes_every_check) {
    quiet_logs();
    const auto [from, to] = seed_range(1, 100);
    std::uint64_t crashes = 0, partitions = 0, confirmed = 0;
    for (std::uint64_t seed = from; seed <= to; ++seed) {
        const sim::Result r = sim::run(options(seed));
        BOOST_TEST_CONTEXT(sim::repro_command(r.options) << " (" << r.plan.describe() << ")") {
            BOOST_TEST(r.ok());
            for (const auto& v : r.violations) BOOST_TEST_MESSAGE(v);
            // The market traded; only a lone buyer may spend the whole calm as the trader, which
            // cannot buy from itself (seeds 1181, 1261 and 1511).
            BOOST_TEST((r.summary.requests > 0 || r.summary.buyers < 2));
        }
        crashes += r.crashes;
        partitions += r.partitions;
        confirmed += r.confirmed;
    }
    // Swarm mode really injected faults across the range.
    BOOST_TEST(crashes > 0);
    BOOST_TEST(partitions > 0);
    BOOST_TEST_MESSAGE("seeds " << from << ".." << to << ": " << crashes << " crashes, "
                                << partitions << " partitions, " << confirmed
                                << " outcomes confirmed");
}

BOOST_AUTO_TEST_CASE(the_same_seed_gives_the_same_trace) {
    quiet_logs();
    for (std::uint64_t seed : {3u, 42u}) {
        sim::Options o = options(seed);
        o.faults = sim::FaultSpec::parse("all");
        const sim::Result a = sim::run(o);
        const sim::Result b = sim::run(o);
        BOOST_TEST(a.trace_hash == b.trace_hash);
        BOOST_TEST(a.trace_events == b.trace_events);
        BOOST_TEST(a.summary.requests == b.summary.requests);
        o.seed = seed + 1;
        BOOST_TEST(sim::run(o).trace_hash != a.trace_hash);
    }
}

// Issue 13: an outsider without the key, that hears every datagram and spoofs any address,
// changes nothing the checker can see (the broken variant without the MAC check shows it would).
BOOST_AUTO_TEST_CASE(an_outsider_without_the_key_changes_nothing) {
    quiet_logs();
    std::uint64_t sent = 0;
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        sim::Options o = options(seed);
        o.faults = sim::FaultSpec::parse("outsider");
        const sim::Result r = sim::run(o);
        BOOST_TEST_CONTEXT(sim::repro_command(r.options)) {
            BOOST_TEST(r.ok());
            for (const auto& v : r.violations) BOOST_TEST_MESSAGE(v);
            BOOST_TEST(r.summary.requests > 0);
            BOOST_TEST(r.outsider > 0u);
        }
        sent += r.outsider;
    }
    BOOST_TEST_MESSAGE("the outsider sent " << sent << " datagrams over seeds 1..20");
}

// Issue 18: the liveness bound starts once every peer that crashed is back, not at the faults'
// end. In this seed two replicas lost their disks and a third was down 2.6 s past the end: no
// quorum of seeded replicas existed until it came back, and a newcomer's buy counted as late.
BOOST_AUTO_TEST_CASE(the_liveness_bound_counts_from_when_the_last_crashed_peer_is_back) {
    quiet_logs();
    sim::Options o = options(1435);
    o.promote = true;
    o.faults = sim::FaultSpec::parse("all");
    o.record = true;
    const sim::Result r = sim::run(o);
    BOOST_TEST_CONTEXT(sim::repro_command(r.options)) {
        BOOST_TEST(r.ok());
        for (const auto& v : r.violations) BOOST_TEST_MESSAGE(v);
        // A replica came back after the faults' end, and the bound waited for it.
        const sim::TimePoint faults_end = r.started + o.duration;
        sim::TimePoint last_back = faults_end;
        for (const auto& e : r.events) {
            if (e.kind == sim::Event::Kind::restart) last_back = std::max(last_back, e.time);
        }
        BOOST_TEST((last_back > faults_end));
        BOOST_TEST((r.quiet >= last_back));
        BOOST_TEST((r.ended >= r.quiet + o.liveness_bound));
    }
}

BOOST_AUTO_TEST_CASE(fault_specs_parse_and_name_bad_words) {
    BOOST_TEST(sim::FaultSpec::parse("swarm").swarm);
    BOOST_TEST(sim::FaultSpec::parse("none").kinds == 0);
    const auto spec = sim::FaultSpec::parse("drop,crash");
    BOOST_TEST(!spec.swarm);
    BOOST_TEST(spec.to_string() == "drop,crash");
    BOOST_TEST(sim::FaultSpec::parse("all").to_string() == "all");
    BOOST_TEST(sim::FaultSpec::parse("hostile,outsider").to_string() == "hostile,outsider");
    // The set split is aimed, so asked for by name: "all" is every random kind, not it.
    const auto split = sim::FaultSpec::parse("churn,set_split");
    BOOST_TEST(split.to_string() == "churn,set_split");
    BOOST_TEST((split.kinds & static_cast<std::uint16_t>(sim::Fault::set_split)) != 0);
    BOOST_TEST((sim::FaultSpec::parse("all").kinds &
                static_cast<std::uint16_t>(sim::Fault::set_split)) == 0);
    try {
        sim::FaultSpec::parse("drop,lightning");
        BOOST_FAIL("accepted an unknown fault");
    } catch (const std::invalid_argument& e) {
        BOOST_TEST(std::string(e.what()).find("'lightning' at character 6") != std::string::npos);
    }
    // A fixed set injects exactly those kinds; the seed still picks the rates.
    runtime::Rng rng(7);
    const auto plan = sim::FaultPlan::draw(spec, rng);
    BOOST_TEST(plan.has(sim::Fault::drop));
    BOOST_TEST(plan.has(sim::Fault::crash));
    BOOST_TEST(!plan.has(sim::Fault::partition));
    BOOST_TEST(plan.link.drop > 0);
    BOOST_TEST(plan.link.duplicate == 0);
    BOOST_TEST(plan.crash_every.count() > 0);
    BOOST_TEST(plan.outsider_every.count() == 0);
    runtime::Rng rng2(7);
    const auto outsider = sim::FaultPlan::draw(sim::FaultSpec::parse("outsider"), rng2);
    BOOST_TEST(outsider.has(sim::Fault::outsider));
    BOOST_TEST(outsider.outsider_every.count() > 0);
    BOOST_TEST(outsider.describe().find("outsider") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(exports_a_shiviz_log_and_a_diagram) {
    quiet_logs();
    sim::Options o = options(5);
    o.duration = std::chrono::milliseconds(500);
    o.liveness_bound = std::chrono::milliseconds(500);
    o.record = true;
    o.faults = sim::FaultSpec::parse("crash,drop");
    const sim::Result r = sim::run(o);
    BOOST_TEST(r.ok());
    BOOST_TEST(!r.events.empty());

    std::ostringstream shiviz;
    sim::write_shiviz(shiviz, r.events, {});
    // Every event is two lines that ShiViz's parser, (?<host>\S*) (?<clock>{.*})\n(?<event>.*),
    // accepts: a host without spaces, one space, a JSON object. (No std::regex: g++ 12 warns
    // inside it under the sanitizers.)
    auto host_line = [](const std::string& line) {
        const auto space = line.find(' ');
        return space != std::string::npos && space > 0 && line.size() > space + 2 &&
               line[space + 1] == '{' && line.back() == '}' &&
               line.find(' ', space + 1) == std::string::npos;
    };
    std::istringstream in(shiviz.str());
    std::string host, event;
    // ShiViz's file loader: the parser regex first, then the (empty) executions delimiter.
    std::string regex, delimiter;
    BOOST_REQUIRE(std::getline(in, regex) && std::getline(in, delimiter));
    BOOST_TEST(regex == R"((?<host>\S*) (?<clock>{.*})\n(?<event>.*))");
    BOOST_TEST(delimiter.empty());
    std::size_t events = 0;
    while (std::getline(in, host) && std::getline(in, event)) {
        BOOST_TEST_REQUIRE(host_line(host), host);
        BOOST_TEST_REQUIRE(!event.empty());
        ++events;
    }
    BOOST_TEST(events > 100u);

    std::ostringstream svg;
    sim::Window window;
    window.from = runtime::TimePoint(std::chrono::milliseconds(0));
    window.to = runtime::TimePoint(std::chrono::milliseconds(300));
    sim::write_svg(svg, r.events, o.peers, window, "seed 5");
    const std::string text = svg.str();
    BOOST_TEST(text.rfind("<svg", 0) == 0u);
    BOOST_TEST(text.find("</svg>") != std::string::npos);
    BOOST_TEST(text.find("marker-end") != std::string::npos);  // arrows
    BOOST_TEST(text.find("<script") == std::string::npos);     // self-contained, static
}

}  // namespace tp::sim_test
