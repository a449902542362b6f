#include "tp/sim/export.hpp"

#include <fmt/core.h>
#include <fmt/ostream.h>

#include <algorithm>
#include <map>
#include <ostream>

namespace tp::sim {

namespace {

using Clock = std::map<PeerId, std::uint64_t>;

std::string host(PeerId peer) {
    return fmt::format("peer{}", peer);
}

std::string json(const Clock& clock) {
    std::string out = "{";
    for (const auto& [peer, n] : clock) {
        out += fmt::format("{}\"{}\":{}", out.size() > 1 ? "," : "", host(peer), n);
    }
    return out + "}";
}

std::string escape(const std::string& text) {
    return xml_escape(text);
}

double ms(TimePoint t) {
    return static_cast<double>(t.time_since_epoch().count()) / 1e6;
}

const char* colour(const std::string& what) {
    const auto kind = what.substr(0, what.find(' '));
    if (kind == "heartbeat") return "#c8c8c8";
    if (kind == "election" || kind == "ok" || kind == "coordinator") return "#e08a00";
    if (kind == "buy") return "#1f5fbf";
    if (kind == "buy_result") return "#2a9d3a";
    if (kind == "deposit" || kind == "deposit_ack") return "#8a3ab9";
    return "#8b5a2b";  // payments and anything else
}

}  // namespace

void write_shiviz(std::ostream& out, const std::vector<Event>& events, const Window& window) {
    // ShiViz's file loader reads the parser regex from the first line and the delimiter of
    // multiple executions from the second (empty: one execution); the log follows.
    fmt::print(out, "{}\n\n", shiviz_regex);
    std::map<PeerId, Clock> clocks;
    std::map<std::uint64_t, Clock> at_send;  // message -> the sender's clock
    for (const Event& e : events) {
        if (!window.contains(e.time) || e.peer == 0) continue;  // 0: the network itself
        Clock& c = clocks[e.peer];
        std::string text;
        switch (e.kind) {
            case Event::Kind::send:
                ++c[e.peer];
                if (e.message != 0) at_send[e.message] = c;
                text =
                    fmt::format("send {} to peer{} clock {}", e.what, e.other, e.clock.to_string());
                break;
            case Event::Kind::receive:
                if (auto it = at_send.find(e.message); it != at_send.end()) {
                    for (const auto& [p, n] : it->second) c[p] = std::max(c[p], n);
                }
                ++c[e.peer];
                text = fmt::format("receive {} from peer{} clock {}", e.what, e.other,
                                   e.clock.to_string());
                break;
            default:
                ++c[e.peer];
                text = e.what;
                break;
        }
        fmt::print(out, "{} {}\n{} (t={:.3f}ms)\n", host(e.peer), json(c), text, ms(e.time));
    }
}

void write_svg(std::ostream& out, const std::vector<Event>& events, std::uint32_t peers,
               const Window& window, const std::string& title) {
    TimePoint from = window.to, to = window.from;
    for (const Event& e : events) {
        if (!window.contains(e.time)) continue;
        from = std::min(from, e.time);
        to = std::max(to, e.time);
    }
    if (from > to) from = to = window.from;
    if (window.from != TimePoint{}) from = window.from;
    if (window.to != TimePoint::max()) to = window.to;
    const double left = 70, right = 20, top = 50, lane = 60, plot = 1400;
    const double span = std::max(ms(to) - ms(from), 1e-3);
    const double height = top + lane * peers + 60;
    auto x = [&](TimePoint t) { return left + (ms(t) - ms(from)) / span * plot; };
    auto y = [&](PeerId p) { return top + lane * (static_cast<double>(p) - 0.5); };

    fmt::print(out,
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" "
               "font-family=\"sans-serif\" font-size=\"11\">\n",
               left + plot + right, height);
    fmt::print(out,
               "<defs><marker id=\"a\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
               "markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\">"
               "<path d=\"M0 0L10 5L0 10z\" fill=\"#555\"/></marker></defs>\n");
    fmt::print(out, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    fmt::print(out, "<text x=\"{}\" y=\"20\" font-size=\"14\">{}</text>\n", left, escape(title));
    fmt::print(out,
               "<text x=\"{}\" y=\"38\" fill=\"#555\"><tspan fill=\"#1f5fbf\">&#9632;</tspan> buy, "
               "<tspan fill=\"#2a9d3a\">&#9632;</tspan> answer, <tspan "
               "fill=\"#8a3ab9\">&#9632;</tspan> deposit, <tspan fill=\"#8b5a2b\">&#9632;</tspan> "
               "payment, <tspan fill=\"#e08a00\">&#9632;</tspan> election, <tspan "
               "fill=\"#c8c8c8\">&#9632;</tspan> heartbeat, <tspan fill=\"red\">&#9632;</tspan> "
               "lost, "
               "&#10007; crash, &#9675; restart, &#9670; trader</text>\n",
               left);

    // Partitions: a band from the cut to the heal.
    bool cut = false;  // (a plain flag: g++ 12 warns about an optional here)
    TimePoint cut_at{};
    std::string cut_text;
    auto band = [&](TimePoint a, TimePoint b, const std::string& text) {
        fmt::print(out,
                   "<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"#f3e6e6\" "
                   "stroke=\"#c99\" stroke-dasharray=\"4 3\"><title>{}</title></rect>\n",
                   x(a), top - 8, std::max(x(b) - x(a), 1.0), lane * peers + 8, escape(text));
    };
    for (const Event& e : events) {
        if (e.kind == Event::Kind::partition) {
            if (cut && cut_at <= to && e.time >= from) band(cut_at, e.time, cut_text);
            cut = true;
            cut_at = std::max(e.time, from);
            cut_text = fmt::format("{} at {:.3f} ms", e.what, ms(e.time));
        } else if (e.kind == Event::Kind::heal && cut) {
            if (cut_at <= to && e.time >= from) band(cut_at, std::min(e.time, to), cut_text);
            cut = false;
        }
    }
    if (cut && cut_at <= to) band(cut_at, to, cut_text);

    // Lanes and the time axis.
    for (PeerId p = 1; p <= peers; ++p) {
        fmt::print(out,
                   "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#333\"/>"
                   "<text x=\"8\" y=\"{:.1f}\">peer {}</text>\n",
                   left, y(p), left + plot, y(p), y(p) + 4, p);
    }
    const double axis = top + lane * peers + 10;
    for (int i = 0; i <= 10; ++i) {
        const double t = ms(from) + span * i / 10;
        const double px = left + plot * i / 10;
        fmt::print(out,
                   "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
                   "stroke=\"#999\"/><text x=\"{0:.1f}\" y=\"{3:.1f}\" "
                   "text-anchor=\"middle\">{4:.1f} ms</text>\n",
                   px, axis, axis + 5, axis + 18, t);
    }

    // Messages: delivered ones as arrows, lost ones as red stubs.
    std::map<std::uint64_t, const Event*> sends;
    std::map<std::uint64_t, bool> delivered;
    for (const Event& e : events) {
        if (e.kind == Event::Kind::send && e.message != 0) sends[e.message] = &e;
        if (e.kind == Event::Kind::receive && e.message != 0) delivered[e.message] = true;
    }
    for (const Event& e : events) {
        if (e.kind == Event::Kind::receive) {
            auto it = sends.find(e.message);
            if (it == sends.end()) continue;
            const Event& s = *it->second;
            if (!window.contains(s.time) && !window.contains(e.time)) continue;
            fmt::print(out,
                       "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
                       "stroke=\"{}\" marker-end=\"url(#a)\"><title>{:.3f} ms peer {} &#8594; "
                       "{:.3f} ms peer {}: {} {}</title></line>\n",
                       x(s.time), y(s.peer), x(e.time), y(e.peer), colour(e.what), ms(s.time),
                       s.peer, ms(e.time), e.peer, escape(e.what), escape(s.clock.to_string()));
        } else if (e.kind == Event::Kind::send && window.contains(e.time) &&
                   !delivered.contains(e.message)) {
            const double dy = e.other > e.peer ? 10 : -10;
            fmt::print(out,
                       "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{3:.1f}\" "
                       "stroke=\"red\"><title>{4:.3f} ms peer {5} &#8594; peer {6}, lost: {7}"
                       "</title></line>\n",
                       x(e.time), y(e.peer), x(e.time) + 4, y(e.peer) + dy, ms(e.time), e.peer,
                       e.other, escape(e.what));
        }
    }

    // Crashes, restarts, new traders.
    for (const Event& e : events) {
        if (!window.contains(e.time) || e.peer == 0) continue;
        const double px = x(e.time), py = y(e.peer);
        const std::string tip = fmt::format("{:.3f} ms peer {}: {}", ms(e.time), e.peer, e.what);
        if (e.kind == Event::Kind::crash) {
            fmt::print(
                out,
                "<g stroke=\"red\" stroke-width=\"3\"><title>{}</title><line x1=\"{:.1f}\" "
                "y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/><line x1=\"{:.1f}\" y1=\"{:.1f}\" "
                "x2=\"{:.1f}\" y2=\"{:.1f}\"/></g>\n",
                escape(tip), px - 6, py - 6, px + 6, py + 6, px - 6, py + 6, px + 6, py - 6);
        } else if (e.kind == Event::Kind::restart) {
            fmt::print(out,
                       "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"6\" fill=\"none\" stroke=\"green\" "
                       "stroke-width=\"2\"><title>{}</title></circle>\n",
                       px, py, escape(tip));
        } else if (e.kind == Event::Kind::trader) {
            fmt::print(out,
                       "<path d=\"M{0:.1f} {1:.1f}l7 7l-7 7l-7 -7z\" fill=\"gold\" stroke=\"#a80\">"
                       "<title>{2}</title></path><text x=\"{0:.1f}\" y=\"{3:.1f}\" "
                       "text-anchor=\"middle\" fill=\"#a80\">{4}</text>\n",
                       px, py - 7, escape(tip), py - 12, escape(e.what));
        }
    }
    fmt::print(out, "</svg>\n");
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

}  // namespace tp::sim
