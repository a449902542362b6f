// Decoding the membership messages (issue 18) from hostile bytes: hosts and member lists are
// bounded, a host holds printable characters only (it reaches logs and address books), and a
// reason this build does not know is refused, each naming its field.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "capnp_bytes.hpp"
#include "crafting.hpp"
#include "samples.hpp"
#include "schema.hpp"
#include "tp/wire/codec.hpp"

using namespace tp::wire;
namespace s = tp::wire::schema;

namespace {

using tp::wire::test::decoded;
using tp::wire::test::expect_error;
using tp::wire::test::mentions;
using tp::wire::test::to_bytes;
using tp::wire::test::valid_root;

std::vector<std::byte> join_from(const std::string& host) {
    capnp::MallocMessageBuilder m;
    auto join = valid_root(m).getBody().initJoin();
    join.setBuys(true);
    join.setHost(host);
    join.setPort(9000);
    return to_bytes(m);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_membership_decode)

BOOST_AUTO_TEST_CASE(a_host_one_byte_too_long) {
    BOOST_TEST(mentions(
        expect_error(join_from(std::string(max_host_bytes + 1, 'h')), DecodeErrc::list_too_long),
        "body.join.host: 254 bytes, limit 253"));
    // The limit itself decodes.
    BOOST_TEST(std::get<Join>(decoded(join_from(std::string(max_host_bytes, 'h'))).body)
                   .host.size() == max_host_bytes);
}

BOOST_AUTO_TEST_CASE(a_host_with_a_control_character_or_a_space) {
    BOOST_TEST(mentions(expect_error(join_from("evil\nhost"), DecodeErrc::invalid_value),
                        "body.join.host: a space or control character"));
    BOOST_TEST(mentions(expect_error(join_from("a b"), DecodeErrc::invalid_value),
                        "body.join.host: a space or control character"));
    BOOST_TEST(std::get<Join>(decoded(join_from("node-7.example")).body).host == "node-7.example");
}

BOOST_AUTO_TEST_CASE(too_many_members) {
    capnp::MallocMessageBuilder m;
    auto members = valid_root(m).getBody().initMembers();
    members.initMembers(max_members_listed + 1);
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::list_too_long),
                        "body.members.members: 1025 members, limit 1024"));
    members.initMembers(max_members_listed);
    BOOST_TEST(std::get<Members>(decoded(to_bytes(m)).body).members.size() ==
               max_members_listed);
}

BOOST_AUTO_TEST_CASE(a_member_s_host_is_checked_too) {
    capnp::MallocMessageBuilder m;
    auto list = valid_root(m).getBody().initJoinAnswer().initMembers(2);
    list[1].setHost("bad\x01");
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value),
                        "body.joinAnswer.members: a space or control character"));
}

// A member that is not the trader tells a leaver which trader it follows (issue 18: a leaver whose
// trader failed, and that no new trader tells, asks the members in turn).
BOOST_AUTO_TEST_CASE(a_leave_answer_carries_the_trader_to_ask) {
    const LeaveAnswer sent{MembershipRefusal::not_trader, 6, {{6, true, true, true, "b", 1}}};
    std::vector<std::byte> bytes(max_datagram_size);
    bytes.resize(encode(samples::envelope(sent), bytes));
    const auto got = std::get<LeaveAnswer>(decoded(bytes).body);
    BOOST_TEST((got == sent));
}

// A leaver names where it listens: a member that no longer lists it answers there (issue 18).
BOOST_AUTO_TEST_CASE(a_leave_s_host_is_checked_like_a_join_s) {
    capnp::MallocMessageBuilder m;
    valid_root(m).getBody().initLeave().setHost("bad\x01");
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value),
                        "body.leave.host: a space or control character"));
    capnp::MallocMessageBuilder a;
    auto list = valid_root(a).getBody().initLeaveAnswer().initMembers(1);
    list[0].setHost("bad\x01");
    BOOST_TEST(mentions(expect_error(to_bytes(a), DecodeErrc::invalid_value),
                        "body.leaveAnswer.members: a space or control character"));
}

BOOST_AUTO_TEST_CASE(a_membership_reason_this_build_does_not_know) {
    constexpr auto past_last = static_cast<std::uint16_t>(last_membership_refusal) + 1;
    capnp::MallocMessageBuilder m;
    auto root = valid_root(m);
    root.getBody().initJoinAnswer().setReason(static_cast<s::MembershipRefusal>(past_last));
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value),
                        "body.joinAnswer.reason: 10 is not a MembershipRefusal"));
    root.getBody().initLeaveAnswer().setReason(static_cast<s::MembershipRefusal>(past_last));
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::invalid_value),
                        "body.leaveAnswer.reason: 10 is not a MembershipRefusal"));
}

BOOST_AUTO_TEST_CASE(the_encoder_never_emits_what_the_decoder_refuses) {
    const auto refused = tp::wire::test::expect_encode_refused;
    refused(samples::envelope(Join{true, false, std::string(max_host_bytes + 1, 'h'), 1}),
            "wire: encode join.host: 254 bytes, limit 253");
    refused(samples::envelope(Leave{true, std::string(max_host_bytes + 1, 'h'), 1}),
            "wire: encode leave.host: 254 bytes, limit 253");
    refused(samples::envelope(Members{1, samples::members(max_members_listed + 1)}),
            "wire: encode members.members: 1025 members, limit 1024");
    refused(samples::envelope(LeaveAnswer{static_cast<MembershipRefusal>(10), 0, {}}),
            "wire: encode leaveAnswer.reason: 10 is not a MembershipRefusal");
}

BOOST_AUTO_TEST_SUITE_END()
