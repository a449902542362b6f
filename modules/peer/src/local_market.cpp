#include "tp/peer/local_market.hpp"

#include <fmt/core.h>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

#include "tp/peer/ids.hpp"

namespace tp::peer {

// A wait with nothing due by the clock: the supervisor sleeps until woken.
using runtime::never;

LocalMarket::LocalMarket(const Config& config, runtime::Runtime& runtime, bool scripted)
    : config_(config),
      runtime_(runtime),
      streams_(config.seed),
      cluster_(std::make_unique<Cluster>(config_, runtime_, streams_, scripted)),
      failures_(config_, streams_),
      churn_(config_, streams_),
      tick_(runtime) {
    cluster_->on_change([this] { wake(); });
}

LocalMarket::~LocalMarket() = default;

void LocalMarket::start() {
    started_ = runtime_.now();
    // A run that ends when its buyers are done tells the original lab's story: several buyers and
    // sellers, and on the story schedule one failure of the trader. The simulator (keep_running)
    // keeps the seed's draw, which its seeds explore.
    const bool story = !cluster_->context().scripted && !keep_running_;
    if (story) cluster_->ensure_story_roles();
    failures_.plan(*cluster_, started_, story);
    churn_.plan(started_);
    settled_before_ = settled_before(config_, *cluster_);
    cluster_->launch_all();
    asio::co_spawn(runtime_.get_executor(), supervise(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
}

void LocalMarket::request_stop() {
    stop_requested_ = true;
    wake();
}

void LocalMarket::wake() {
    if (woken_) return;  // one look serves every wake before it
    woken_ = true;
    tick_.cancel();  // the wait completes through the executor, after the caller's step
}

void LocalMarket::lose_disk(PeerId peer, std::optional<std::uint64_t> keep) {
    cluster_->lose_disk(peer, keep);
}

void LocalMarket::crash(PeerId peer, std::optional<runtime::Duration> restart_after) {
    cluster_->crash(peer, restart_after);
    wake();  // a restart may now be due
}

void LocalMarket::restart(PeerId peer) {
    cluster_->restart(peer);
}

std::map<PeerId, std::vector<Purchase>> LocalMarket::purchases() const {
    std::map<PeerId, std::vector<Purchase>> out;
    for (const auto& [peer, a] : cluster_->archives()) out[peer] = a.purchases;
    return out;
}

std::string LocalMarket::end_reason(runtime::TimePoint now) {
    if (config_.duration.count() > 0 && now - started_ >= config_.duration) {
        return "its --duration was reached";
    }
    // On the story schedule a failed peer due back is waited for: its return is part of the
    // run. On the original lab's schedule one is nearly always due: waiting for none to be
    // would never end the run.
    const bool return_pending = !failures_.recurring() && cluster_->restart_pending();
    if (cluster_->context().scripted || keep_running_ || return_pending ||
        !cluster_->buyers_done()) {
        buyers_done_at_.reset();
        return {};
    }
    if (!buyers_done_at_) buyers_done_at_ = now;
    // Let the last payments reach their sellers, and the last deposits the trader.
    if (cluster_->settled() || now - *buyers_done_at_ >= 4 * config_.behaviour.request_timeout) {
        return fmt::format("every buyer made its {}{}",
                           plural(config_.behaviour.max_transactions, "request"),
                           config_.duration.count() > 0 ? ", before its --duration" : "");
    }
    return {};
}

std::optional<runtime::TimePoint> LocalMarket::next_deadline() const {
    std::optional<runtime::TimePoint> next;
    auto consider = [&](std::optional<runtime::TimePoint> t) {
        if (t && (!next || *t < *next)) next = t;
    };
    consider(cluster_->next_restart());
    consider(failures_.next_due());
    consider(churn_.next_due());
    if (config_.duration.count() > 0) consider(started_ + config_.duration);
    if (buyers_done_at_) consider(*buyers_done_at_ + 4 * config_.behaviour.request_timeout);
    return next;
}

asio::awaitable<void> LocalMarket::supervise() {
    using asio::experimental::as_tuple;
    // Looks at the market whenever woken (a life ended, a buyer is done, a new trader, a step of
    // a peer while answers or settlements matter) or when something falls due by the clock.
    for (;;) {
        woken_ = false;
        const auto now = runtime_.now();
        cluster_->reap(now);
        if (stop_requested_) break;
        end_reason_ = end_reason(now);
        if (!end_reason_.empty()) break;
        failures_.step(*cluster_, now);
        churn_.step(*cluster_, now);
        cluster_->watch(failures_.waits_on_answers() || buyers_done_at_.has_value());
        if (woken_) continue;
        tick_.expires_at(std::max(next_deadline().value_or(never), now));
        co_await tick_.async_wait(as_tuple(asio::use_awaitable));
    }
    // Shut down: every peer stops; wait for their coroutines to end.
    ended_ = runtime_.now();
    cluster_->watch(false);
    cluster_->stop_all();
    for (;;) {
        woken_ = false;
        cluster_->reap(runtime_.now());
        if (cluster_->stopped()) break;
        if (woken_) continue;
        tick_.expires_at(never);
        co_await tick_.async_wait(as_tuple(asio::use_awaitable));
    }
    done_ = true;
    if (on_done_) on_done_();
}

Summary LocalMarket::summary() const {
    Summary s = summarize(config_, *cluster_, failures_, started_,
                          done_ ? ended_ : runtime_.now(), end_reason_, settled_before_);
    if (churn_.next_due()) {
        s.churn = churn_.describe();
        s.joins = churn_.joins();
        s.leaves = churn_.leaves();
        s.skipped_leaves = churn_.skipped_leaves();
    }
    return s;
}

}  // namespace tp::peer
