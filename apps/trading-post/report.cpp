#include "report.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include "bench_support.hpp"
#include "commands.hpp"
#include "tp/election/messages.hpp"
#include "tp/sim/export.hpp"
#include "tp/sim/recorder.hpp"

namespace tp::app::report {

namespace {

using namespace std::chrono_literals;
using Kind = Marker::Kind;

double seconds(runtime::Duration d) {
    return static_cast<double>(d.count()) / 1e9;
}

double millis(runtime::Duration d) {
    return static_cast<double>(d.count()) / 1e6;
}

std::ofstream open(const std::filesystem::path& path) {
    std::ofstream out(path);
    if (!out) throw std::runtime_error("report: cannot write " + path.string());
    return out;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\t': out += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string html(std::string_view s) {
    return sim::xml_escape(s);
}

const char* kind_name(Kind k) {
    switch (k) {
        case Kind::failure: return "failure";
        case Kind::elected: return "elected";
        case Kind::back: return "return";
    }
    return "?";
}

// Is `program` on PATH? (Says plainly why a plot is missing.)
bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    if (path == nullptr) return false;
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    }
    return false;
}

// The diagram's window: from just before the first failure to just after the failed peer's
// return (or a second later), so its arrows stay readable. The whole run when nothing failed
// but short; its first second otherwise.
sim::Window diagram_window(const Input& in) {
    sim::Window w;
    const auto first = std::find_if(in.markers.begin(), in.markers.end(),
                                    [](const Marker& m) { return m.kind == Kind::failure; });
    if (first == in.markers.end()) {
        w.from = sim::TimePoint{};
        w.to = sim::TimePoint(runtime::Duration(1s));
        return w;
    }
    const auto from = std::max(first->at - runtime::Duration(200ms), runtime::Duration{});
    auto to = first->at + runtime::Duration(1s);
    for (auto it = first; it != in.markers.end(); ++it) {
        if (it->kind == Kind::back) {
            to = it->at + runtime::Duration(300ms);
            break;
        }
    }
    to = std::min(to, first->at + runtime::Duration(2500ms));
    w.from = sim::TimePoint(from);
    w.to = sim::TimePoint(to);
    return w;
}

struct Plot {
    std::string file;     // e.g. "latency.png"
    std::string caption;  // what it shows
    std::string missing;  // why it was not drawn; empty when it was
};

std::string joined_seconds(const Input& in, Kind kind) {
    std::string out;
    for (const auto& m : in.markers) {
        if (m.kind == kind) out += fmt::format("{}{:.4f}", out.empty() ? "" : " ", seconds(m.at));
    }
    return out;
}

std::string gnuplot_string(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        q += c;
        if (c == '\'') q += '\'';
    }
    return q + "'";
}

std::vector<Plot> draw(const std::filesystem::path& dir, const Input& in,
                       std::vector<std::string>& said) {
    std::vector<Plot> plots = {
        {"latency.png",
         "Round trip of every request over the run (log scale), per buyer; failures, elections "
         "and returns marked",
         {}},
        {"latency-cdf.png", "Distribution of the round trips (retries and elections included)", {}},
        {"messages.png", "Messages sent during the run, per kind", {}},
    };
    std::string why;
    bench::Context ctx;
    ctx.plots = default_plots_dir();
    if (!on_path("gnuplot")) {
        why = "gnuplot is not installed (tools/setup installs it)";
    } else if (!std::filesystem::exists(ctx.plots / "report-latency.gp")) {
        why = "the plot scripts were not found in " + ctx.plots.string();
    }
    if (in.requests.empty() && why.empty()) why = "no request was answered";
    std::string buyers;
    std::vector<peer::PeerId> ids;
    for (const auto& r : in.requests) ids.push_back(r.buyer);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (auto id : ids) buyers += fmt::format("{}{}", buyers.empty() ? "" : " ", id);
    const std::string extra = fmt::format("title={}; buyers={}; fails={}; elected={}; backs={}",
                                          gnuplot_string(in.command), gnuplot_string(buyers),
                                          gnuplot_string(joined_seconds(in, Kind::failure)),
                                          gnuplot_string(joined_seconds(in, Kind::elected)),
                                          gnuplot_string(joined_seconds(in, Kind::back)));
    const std::pair<const char*, const char*> scripts[] = {
        {"report-latency", "latency.csv"},
        {"report-cdf", "latency-cdf.csv"},
        {"report-messages", "messages.csv"},
    };
    for (std::size_t i = 0; i < plots.size(); ++i) {
        auto& p = plots[i];
        std::filesystem::remove(dir / p.file);
        if (!why.empty() && !(i == 2 && why == "no request was answered")) {
            p.missing = why;
        } else if (bench::plot(ctx, scripts[i].first, dir / scripts[i].second, extra).empty()) {
            p.missing = "gnuplot failed (its message is above)";
        }
        said.push_back(p.missing.empty()
                           ? fmt::format("  plot        {}", (dir / p.file).string())
                           : fmt::format("  plot        {} not drawn: {}", p.file, p.missing));
    }
    return plots;
}

void write_csvs(const std::filesystem::path& dir, const Input& in,
                const std::map<std::string, std::uint64_t>& counts) {
    auto latency = open(dir / "latency.csv");
    latency << "# " << in.command << "\nbuyer,sent_s,rtt_ms,attempts,outcome\n";
    for (const auto& r : in.requests) {
        latency << fmt::format("{},{:.6f},{:.3f},{},{}\n", r.buyer, seconds(r.sent),
                               millis(r.round_trip), r.attempts, r.filled ? "filled" : "refused");
    }
    std::vector<double> rtts;
    for (const auto& r : in.requests) rtts.push_back(millis(r.round_trip));
    std::sort(rtts.begin(), rtts.end());
    auto cdf = open(dir / "latency-cdf.csv");
    cdf << "# " << in.command << "\nrtt_ms,fraction\n";
    for (std::size_t i = 0; i < rtts.size(); ++i) {
        cdf << fmt::format("{:.3f},{:.6f}\n", rtts[i],
                           static_cast<double>(i + 1) / static_cast<double>(rtts.size()));
    }
    auto messages = open(dir / "messages.csv");
    messages << "# " << in.command << "\nkind,count\n";
    for (const auto& [kind, n] : counts) messages << kind << ',' << n << '\n';
    auto markers = open(dir / "markers.csv");
    markers << "# " << in.command << "\nat_s,kind,label\n";
    for (const auto& m : in.markers)
        markers << fmt::format("{:.6f},{},{}\n", seconds(m.at), kind_name(m.kind), m.label);
}

void write_json(const std::filesystem::path& dir, const Input& in,
                const std::map<std::string, std::uint64_t>& counts,
                const std::vector<Plot>& plots) {
    const auto& s = in.summary;
    auto out = open(dir / "summary.json");
    out << "{\n";
    out << "  \"command\": " << json_string(in.command) << ",\n";
    out << fmt::format("  \"seed\": {},\n  \"peers\": {},\n  \"transport\": {},\n", s.seed, s.peers,
                       json_string(s.transport));
    out << fmt::format("  \"elapsed_s\": {:.6f},\n  \"ended\": {},\n", seconds(s.elapsed),
                       json_string(s.ended));
    out << fmt::format(
        "  \"requests\": {{\"answered\": {}, \"filled\": {}, \"refused\": {}, \"units\": {}, "
        "\"spent\": {}}},\n",
        s.requests, s.filled, s.refused, s.units, s.spent);
    out << "  \"failure_schedule\": " << json_string(s.failure_schedule) << ",\n";
    out << fmt::format(
        "  \"churn\": {{\"rates\": {}, \"joins\": {}, \"leaves\": {}, \"skipped_leaves\": {}}},\n",
        json_string(s.churn), s.joins, s.leaves, s.skipped_leaves);
    out << "  \"traders\": [";
    for (std::size_t i = 0; i < s.traders.size(); ++i) {
        out << fmt::format("{}\n    {{\"peer\": {}, \"epoch\": {}, \"elected_s\": {:.6f}}}",
                           i ? "," : "", s.traders[i].first,
                           json_string(election::epoch_text(s.traders[i].second)),
                           i < s.elected_at.size() ? seconds(s.elected_at[i]) : 0.0);
    }
    out << "\n  ],\n  \"failures\": [";
    for (std::size_t i = 0; i < s.failures.size(); ++i) {
        const auto& f = s.failures[i];
        out << fmt::format("{}\n    {{\"peer\": {}, \"at_s\": {:.6f}, \"was_trader\": {}}}",
                           i ? "," : "", f.peer, seconds(f.at), f.was_trader);
    }
    out << "\n  ],\n  \"returns\": [";
    for (std::size_t i = 0; i < s.returns.size(); ++i) {
        const auto& r = s.returns[i];
        out << fmt::format(
            "{}\n    {{\"peer\": {}, \"role\": {}, \"at_s\": {:.6f}, \"requests\": {}, "
            "\"filled\": {}, \"deposits\": {}, \"sold\": {}, \"earned\": {}, \"traded\": {}}}",
            i ? "," : "", r.peer, json_string(peer::to_string(r.role)), seconds(r.at), r.requests,
            r.filled, r.deposits, r.sold, r.earned, r.traded());
    }
    out << "\n  ],\n  \"sellers\": [";
    for (std::size_t i = 0; i < s.sellers.size(); ++i) {
        const auto& l = s.sellers[i];
        out << fmt::format(
            "{}\n    {{\"seller\": {}, \"sold\": {}, \"earned\": {}, \"received\": {}, "
            "\"pending\": {}}}",
            i ? "," : "", l.seller, l.sold, l.earned, l.received, l.pending);
    }
    out << fmt::format("\n  ],\n  \"commission\": {},\n", s.commission);
    out << fmt::format(
        "  \"round_trip_ms\": {{\"p50\": {:.3f}, \"p99\": {:.3f}, \"max\": {:.3f}}},\n",
        millis(s.rtt_p50), millis(s.rtt_p99), millis(s.rtt_max));
    out << "  \"messages\": {";
    std::uint64_t total = 0;
    bool first = true;
    for (const auto& [kind, n] : counts) {
        out << fmt::format("{}\n    {}: {}", first ? "" : ",", json_string(kind), n);
        first = false;
        total += n;
    }
    out << fmt::format("\n  }},\n  \"messages_total\": {},\n", total);
    out << "  \"facts\": {";
    first = true;
    for (const auto& [k, v] : in.facts) {
        out << fmt::format("{}\n    {}: {}", first ? "" : ",", json_string(k), json_string(v));
        first = false;
    }
    out << "\n  },\n  \"plots\": {";
    for (std::size_t i = 0; i < plots.size(); ++i) {
        out << fmt::format(
            "{}\n    {}: {}", i ? "," : "", json_string(plots[i].file),
            plots[i].missing.empty() ? std::string("null") : json_string(plots[i].missing));
    }
    out << "\n  },\n  \"checks_ok\": " << (s.ok() ? "true" : "false") << ",\n  \"violations\": [";
    for (std::size_t i = 0; i < s.violations.size(); ++i)
        out << (i ? ", " : "") << json_string(s.violations[i]);
    out << "]\n}\n";
}

// The page: plain, self-contained, every picture by relative path. A small script marks, once
// loaded, how many images show (data-images="ok N" or "broken: ..."), for the browser check.
void write_html(const std::filesystem::path& dir, const Input& in,
                const std::map<std::string, std::uint64_t>& counts, const std::vector<Plot>& plots,
                const sim::Window& window) {
    auto out = open(dir / "index.html");
    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
    out << "<title>Trading Post run: " << html(in.command) << "</title>\n";
    out << "<style>\n"
           "body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }\n"
           "pre { background: #f6f6f6; padding: 1em; white-space: pre-wrap; font-size: 13px; }\n"
           "table { border-collapse: collapse; } td, th { border: 1px solid #ccc; "
           "padding: 0.2em 0.8em; text-align: right; } th { background: #eee; }\n"
           "td.k { text-align: left; } img { max-width: 100%; border: 1px solid #ddd; }\n"
           ".missing { color: #a00; } .diagram { overflow-x: auto; }\n"
           "</style>\n</head>\n<body data-images=\"loading\">\n";
    out << "<h1>Trading Post run</h1>\n<p><code>" << html(in.command) << "</code></p>\n";
    const auto& s = in.summary;
    out << fmt::format(
        "<p>{} peers on {}, seed {}, {:.2f} s; {} requests answered; {} failure(s), {} "
        "trader(s) elected; checks <strong>{}</strong>.</p>\n",
        s.peers, html(s.transport), s.seed, seconds(s.elapsed), s.requests, s.failures.size(),
        s.traders.size(), s.ok() ? "OK" : "FAILED");
    if (!in.markers.empty()) {
        out << "<h2>What happened</h2>\n<ul>\n";
        for (const auto& m : in.markers)
            out << fmt::format("<li>{:.3f} s: {}</li>\n", seconds(m.at), html(m.label));
        out << "</ul>\n";
    }
    out << "<h2>Summary</h2>\n<pre>" << html(in.summary_text) << "</pre>\n";
    for (const auto& p : plots) {
        out << "<h2>" << html(p.caption) << "</h2>\n";
        if (p.missing.empty()) {
            out << "<p><img src=\"" << p.file << "\" alt=\"" << html(p.caption) << "\"/></p>\n";
        } else {
            out << "<p class=\"missing\">Not drawn: " << html(p.missing)
                << ". The data is in the CSV files below.</p>\n";
        }
    }
    out << "<h2>Messages sent, per kind</h2>\n<table>\n<tr><th>kind</th><th>sent</th></tr>\n";
    std::uint64_t total = 0;
    for (const auto& [kind, n] : counts) {
        out << "<tr><td class=\"k\">" << html(kind) << "</td><td>" << n << "</td></tr>\n";
        total += n;
    }
    out << "<tr><th>total</th><th>" << total << "</th></tr>\n</table>\n";
    out << fmt::format(
        "<h2>Space-time diagram, {:.3f} s to {:.3f} s</h2>\n<p>One line per peer, time left "
        "to right, each message an arrow (hover for details); crashes as red crosses, restarts "
        "as green circles, new traders as gold diamonds.</p>\n",
        seconds(window.from.time_since_epoch()), seconds(window.to.time_since_epoch()));
    out << "<div class=\"diagram\"><img src=\"diagram.svg\" alt=\"space-time diagram\"/></div>\n";
    out << "<h2>Files</h2>\n<ul>\n"
           "<li><a href=\"summary.txt\">summary.txt</a>, <a href=\"summary.json\">summary.json"
           "</a>: the summary</li>\n"
           "<li><a href=\"shiviz.log\">shiviz.log</a>: the whole run for ShiViz "
           "(https://bestchai.bitbucket.io/shiviz/): paste it, or load the file (its first two "
           "lines are the parser regex and the delimiter)</li>\n"
           "<li><a href=\"diagram.svg\">diagram.svg</a>: the diagram above</li>\n"
           "<li><a href=\"latency.csv\">latency.csv</a>, <a href=\"latency-cdf.csv\">"
           "latency-cdf.csv</a>, <a href=\"messages.csv\">messages.csv</a>, <a "
           "href=\"markers.csv\">markers.csv</a>: the plots' data</li>\n</ul>\n";
    out << "<script>\n"
           "window.addEventListener('error', function (e) {\n"
           "  document.body.setAttribute('data-errors', String(e.message));\n"
           "});\n"
           "window.addEventListener('load', function () {\n"
           "  var broken = [];\n"
           "  var images = document.images;\n"
           "  for (var i = 0; i !== images.length; i++) {\n"
           "    if (!images[i].complete || images[i].naturalWidth === 0) "
           "broken.push(images[i].getAttribute('src'));\n"
           "  }\n"
           "  document.body.setAttribute('data-images', broken.length ? 'broken: ' + "
           "broken.join(' ') : 'ok ' + images.length);\n"
           "});\n"
           "</script>\n</body>\n</html>\n";
}

}  // namespace

std::vector<Request> requests_of(const std::map<peer::PeerId, std::vector<peer::Purchase>>& all,
                                 runtime::TimePoint origin) {
    std::vector<Request> out;
    for (const auto& [buyer, list] : all) {
        for (const auto& p : list) {
            if (p.attempts == 0) continue;  // refused by the buyer itself (its own lot)
            out.push_back({buyer, p.sent - origin, p.answered_at - p.sent, p.attempts, p.filled});
        }
    }
    std::sort(out.begin(), out.end(),
              [](const Request& a, const Request& b) { return a.sent < b.sent; });
    return out;
}

std::vector<Marker> markers_of(const peer::Summary& s) {
    std::vector<Marker> out;
    for (const auto& f : s.failures) {
        out.push_back(
            {Kind::failure, f.at,
             fmt::format("peer {}{} fails", f.peer, f.was_trader ? " (the trader)" : "")});
    }
    for (std::size_t i = 1; i < s.traders.size() && i < s.elected_at.size(); ++i) {
        out.push_back({Kind::elected, s.elected_at[i],
                       fmt::format("peer {} is the new coordinator (epoch {})", s.traders[i].first,
                                   election::epoch_text(s.traders[i].second))});
    }
    for (const auto& r : s.returns) {
        out.push_back({Kind::back, r.at,
                       fmt::format("peer {} comes back as a {}", r.peer, peer::to_string(r.role))});
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Marker& a, const Marker& b) { return a.at < b.at; });
    return out;
}

std::vector<Marker> markers_of(const std::vector<sim::Event>& events) {
    std::vector<Marker> out;
    bool first_trader = true;
    for (const auto& e : events) {
        const auto at = e.time.time_since_epoch();
        if (e.kind == sim::Event::Kind::crash) {
            out.push_back({Kind::failure, at, fmt::format("peer {} {}", e.peer, e.what)});
        } else if (e.kind == sim::Event::Kind::restart) {
            out.push_back({Kind::back, at, fmt::format("peer {} comes back", e.peer)});
        } else if (e.kind == sim::Event::Kind::trader) {
            if (!first_trader)
                out.push_back({Kind::elected, at, fmt::format("peer {} is {}", e.peer, e.what)});
            first_trader = false;
        }
    }
    return out;
}

std::vector<std::string> write(const std::filesystem::path& dir, const Input& in) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("report: cannot create " + dir.string() + ": " + ec.message());
    std::vector<std::string> said;
    const auto counts = sim::message_counts(in.events);

    std::string text = in.summary_text;
    text += "  messages    ";
    std::uint64_t total = 0;
    for (const auto& [kind, n] : counts) total += n;
    text += fmt::format("{} sent:", total);
    for (const auto& [kind, n] : counts) text += fmt::format(" {} {},", kind, n);
    if (!counts.empty()) text.pop_back();
    text += '\n';
    for (const auto& [k, v] : in.facts) text += fmt::format("  {:<11} {}\n", k, v);
    open(dir / "summary.txt") << text;

    write_csvs(dir, in, counts);
    const auto plots = draw(dir, in, said);
    write_json(dir, in, counts, plots);
    {
        auto out = open(dir / "shiviz.log");
        sim::write_shiviz(out, in.events, sim::Window{});
    }
    const sim::Window window = in.window ? *in.window : diagram_window(in);
    {
        auto out = open(dir / "diagram.svg");
        sim::write_svg(out, in.events, in.peers, window,
                       fmt::format("{} ({:.2f} s to {:.2f} s)", in.command,
                                   seconds(window.from.time_since_epoch()),
                                   seconds(window.to.time_since_epoch())));
    }
    Input with_text = in;
    with_text.summary_text = text;
    write_html(dir, with_text, counts, plots, window);
    said.insert(said.begin(), fmt::format("  report      {}", (dir / "index.html").string()));
    return said;
}

}  // namespace tp::app::report
