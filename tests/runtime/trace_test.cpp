#include <boost/test/unit_test.hpp>
#include <sstream>

#include "tp/runtime/trace.hpp"

using tp::runtime::EventKind;
using tp::runtime::TimePoint;
using tp::runtime::Trace;
using tp::runtime::TraceEvent;

namespace {

const TraceEvent a{TimePoint(std::chrono::seconds(1)), EventKind::send, 1, 2, 10, 64};
const TraceEvent b{TimePoint(std::chrono::seconds(2)), EventKind::deliver, 1, 2, 10, 64};

}  // namespace

BOOST_AUTO_TEST_SUITE(trace)

BOOST_AUTO_TEST_CASE(same_events_same_hash_and_order_matters) {
    Trace t1, t2, t3;
    t1.record(a);
    t1.record(b);
    t2.record(a);
    t2.record(b);
    t3.record(b);
    t3.record(a);
    BOOST_TEST(t1.hash() == t2.hash());
    BOOST_TEST(t1.hash() != t3.hash());
    BOOST_TEST(t1.count() == 2u);
}

BOOST_AUTO_TEST_CASE(every_field_changes_the_hash) {
    Trace base;
    base.record(a);
    for (int field = 0; field < 6; ++field) {
        TraceEvent e = a;
        switch (field) {
            case 0: e.time += std::chrono::nanoseconds(1); break;
            case 1: e.kind = EventKind::drop; break;
            case 2: e.from = 3; break;
            case 3: e.to = 3; break;
            case 4: e.id = 11; break;
            case 5: e.value = 65; break;
        }
        Trace t;
        t.record(e);
        BOOST_TEST(t.hash() != base.hash(), "field " << field);
    }
}

BOOST_AUTO_TEST_CASE(kept_events_export_as_text_and_clear_resets) {
    Trace t;
    t.keep_events(true);
    t.record(a);
    t.record(b);
    BOOST_TEST(t.events().size() == 2u);
    BOOST_TEST(t.count(EventKind::send) == 1u);
    std::ostringstream out;
    t.write_text(out);
    BOOST_TEST(out.str() == "1000000000 send 1 2 10 64\n2000000000 deliver 1 2 10 64\n");
    const auto h = t.hash();
    t.clear();
    BOOST_TEST(t.count() == 0u);
    BOOST_TEST(t.events().empty());
    t.record(a);
    t.record(b);
    BOOST_TEST(t.hash() == h);
}

BOOST_AUTO_TEST_SUITE_END()
