// Gathered payments and their acks (issue 17) from hostile bytes: both lists are bounded, each
// naming its field, and the encoder never writes a list the decoder would refuse.
#include <boost/test/unit_test.hpp>

#include <capnp/message.h>

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

}  // namespace

BOOST_AUTO_TEST_SUITE(wire_payments_decode)

BOOST_AUTO_TEST_CASE(too_many_payments_in_one_message) {
    capnp::MallocMessageBuilder m;
    auto payments = valid_root(m).getBody().initPayments();
    payments.initItems(max_payments_per_message + 1);
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::list_too_long),
                        "body.payments.items: 129 elements, limit 128"));
    // At the limit it decodes, every item kept in order.
    auto items = payments.initItems(max_payments_per_message);
    for (unsigned i = 0; i < items.size(); ++i) items[i].setPaymentId(i + 1);
    const Envelope envelope = decoded(to_bytes(m));
    const auto& back = std::get<Payments>(envelope.body).items;
    BOOST_TEST_REQUIRE(back.size() == max_payments_per_message);
    BOOST_TEST(back.front().payment_id == 1u);
    BOOST_TEST(back.back().payment_id == max_payments_per_message);
}

BOOST_AUTO_TEST_CASE(too_many_acks_in_one_message) {
    capnp::MallocMessageBuilder m;
    auto acks = valid_root(m).getBody().initPaymentAcks();
    acks.initPaymentIds(max_payments_per_message + 1);
    BOOST_TEST(mentions(expect_error(to_bytes(m), DecodeErrc::list_too_long),
                        "body.paymentAcks.paymentIds: 129 elements, limit 128"));
    acks.initPaymentIds(max_payments_per_message);
    BOOST_TEST(std::get<PaymentAcks>(decoded(to_bytes(m)).body).payment_ids.size() ==
               max_payments_per_message);
}

BOOST_AUTO_TEST_CASE(an_empty_list_is_an_empty_message) {
    // Never sent (PeerCore gathers from two payments up), but harmless: nothing to settle.
    capnp::MallocMessageBuilder m;
    valid_root(m).getBody().initPayments();
    BOOST_TEST(std::get<Payments>(decoded(to_bytes(m)).body).items.empty());
}

BOOST_AUTO_TEST_CASE(a_market_s_budget_holds_the_fullest_payments) {
    // Six peers, every clock entry at its largest: a full Payments fits the byte budget the
    // market decodes with, so a trader's gathered payments are never refused as too large.
    Envelope e;
    e.sender = 1;
    e.receiver = 2;
    for (PeerId p = 1; p <= 6; ++p) e.clock.set(p, max_clock_counter);
    e.body = Payments{std::vector<Payment>(max_payments_per_message, Payment{1, 2, 3, 4})};
    const auto r = decode(encode(e), limits_for_members(6));
    BOOST_TEST(r.has_value(), (r ? "" : r.error().message()));
}

BOOST_AUTO_TEST_CASE(the_encoder_never_emits_what_the_decoder_refuses) {
    const auto refused = tp::wire::test::expect_encode_refused;
    refused(samples::envelope(
                Payments{std::vector<Payment>(max_payments_per_message + 1, Payment{1, 1, 1, 1})}),
            "wire: encode payments.items: 129 elements, limit 128");
    refused(samples::envelope(PaymentAcks{std::vector<PaymentId>(max_payments_per_message + 1, 1)}),
            "wire: encode paymentAcks.paymentIds: 129 elements, limit 128");
}

BOOST_AUTO_TEST_SUITE_END()
