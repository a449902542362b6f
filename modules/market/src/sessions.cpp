// The de-duplication table as client sessions (the Raft dissertation, section 6.3): per buyer,
// only the answers a retry can still ask for.
#include <algorithm>
#include <string>

#include "books_internal.hpp"
#include "tp/market/books.hpp"

namespace tp::market {

namespace {

auto lower(std::vector<BuyResult>& answers, RequestId request) {
    return std::lower_bound(answers.begin(), answers.end(), request,
                            [](const BuyResult& a, RequestId r) { return a.request < r; });
}

}  // namespace

const BuyResult* Session::find(RequestId request) const noexcept {
    auto it = std::lower_bound(answers.begin(), answers.end(), request,
                               [](const BuyResult& a, RequestId r) { return a.request < r; });
    return it != answers.end() && it->request == request ? &*it : nullptr;
}

const Session* Books::session(PeerId buyer) const noexcept {
    auto it = sessions_.find(buyer);
    return it == sessions_.end() ? nullptr : &it->second;
}

const BuyResult* Books::result(PeerId buyer, RequestId request) const noexcept {
    const Session* s = session(buyer);
    return s ? s->find(request) : nullptr;
}

BuyResult Books::stale_refusal(const BuyRequest& r) {
    // The wire has no reason for "stale", and a new one would change the protocol. A request id
    // below its buyer's latest answered one is no valid request any more, which is what
    // invalid_request says. Only a delayed duplicate gets it: its buyer sends one request at a
    // time, has moved on to a newer one, and ignores answers to requests it no longer awaits.
    BuyResult out;
    out.buyer = r.buyer;
    out.request = r.request;
    out.product = r.product;
    out.status = BuyStatus::refused;
    out.reason = RefuseReason::invalid_request;
    out.requested = r.quantity;
    return out;
}

bool Books::stale(PeerKey key) const noexcept {
    const Session* s = session(key.peer);
    if (!s || key.id >= s->latest() || s->find(key.id)) return false;
    return std::none_of(queued_.begin(), queued_.end(), [&](const BuyQueued& q) {
        return q.buyer == key.peer && q.request == key.id;
    });
}

std::optional<std::string> Books::unanswerable(PeerKey key) const {
    if (result(key.peer, key.id)) return "already answered";
    if (stale(key))
        return "older than the buyer's latest answered request " +
               std::to_string(session(key.peer)->latest()) + " and not queued";
    return std::nullopt;
}

void Books::record_answer(BuyResult answer) {
    const PeerKey key{answer.buyer, answer.request};
    ++answered_;
    auto& answers = sessions_[key.peer].answers;
    answers.insert(lower(answers, key.id), std::move(answer));
    dequeue(key);
    prune_session(key.peer);
}

void Books::prune_session(PeerId buyer) {
    auto it = sessions_.find(buyer);
    if (it == sessions_.end()) return;
    auto& answers = it->second.answers;
    // A retry can ask for the latest answer, and for any newer than a request still queued.
    RequestId floor = answers.back().request;
    for (const auto& q : queued_)
        if (q.buyer == buyer) floor = std::min(floor, q.request);
    answers.erase(answers.begin(), lower(answers, floor));
}

}  // namespace tp::market
