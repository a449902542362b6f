#!/usr/bin/env bash
# One exit-status policy for every subcommand (issue 14): 0 ok, 1 a check failed, 2 bad input
# (CLI11's own codes mapped onto it), flags that do not apply refused, ranges checked before
# anything runs.
#
#   tests/system/exit_codes_test.sh <trading-post binary>
set -uo pipefail
bin="$1"
dir="$(mktemp -d "${TMPDIR:-/tmp}/tp-exit-test-XXXXXX")"
trap 'rm -rf "$dir"' EXIT
failures=0

# expect STATUS TEXT -- ARGS...: runs the binary (bounded, so a command that runs the whole
# simulation before checking its flags cannot pass by being slow), checks its status and that
# its stdout+stderr contain TEXT.
expect() {
  local want="$1" text="$2"
  shift 3
  local status=0
  timeout 60 "$bin" "$@" >"$dir/out" 2>&1 || status=$?
  if [[ "$status" -ne "$want" ]]; then
    echo "FAIL: trading-post $* exited $status (want $want): $(head -c 600 "$dir/out")" >&2
    failures=$((failures + 1))
  elif [[ -n "$text" ]] && ! grep -qF -- "$text" "$dir/out"; then
    echo "FAIL: trading-post $* does not say '$text': $(head -c 600 "$dir/out")" >&2
    failures=$((failures + 1))
  else
    echo "ok: trading-post $* -> $status"
  fi
}

# 0: help, version, a market that passes its checks.
expect 0 'Exit status: 0 ok' -- --help
for sub in run peer books sim bench; do
  expect 0 '2 bad input' -- "$sub" --help
done
expect 0 'trading-post' -- --version
expect 0 'checks      OK' -- run --peers 4 --transport memory --max-transactions 3 \
  --state-dir "$dir/state" --seed 7 --quiet
# A second run on the same state directory continues its market (issue 15): its peers' lives and
# epochs go on from the durable peer state (epoch 3:4 after the first run's 1:4 and 2:3), and its
# checks pass against the books it inherits.
expect 0 'traders     4 (epoch 3:4), 3 (epoch 4:3)' -- run --peers 4 --transport memory \
  --max-transactions 3 --state-dir "$dir/state" --seed 7 --quiet

# 1: a market on virtual time that cannot move on (a buyer without think time, served on
# arrival, nothing synced, on the memory transport's network without latency) is refused with
# the reason, never run for ever.
cat >"$dir/still.toml" <<'TOML'
peers = 3
roles = ["buyer", "seller", "seller"]
[market]
batch_window = "0"
[behaviour]
think_time = "0"
buy_probability = 1.0
max_transactions = 1000000000
max_buy_quantity = 1
TOML
expect 1 'give the buyers a think_time' -- run --config "$dir/still.toml" --transport memory \
  --durability none --duration 1s --state-dir "$dir/still" --instant-limit 100000 --quiet

# 2: bad input, from CLI11 (unknown flag, value out of range, no subcommand) and from us.
expect 2 '--no-such-flag' -- run --no-such-flag
expect 2 '--peers' -- run --peers 1
expect 2 '--instant-limit' -- run --instant-limit -1
expect 2 '--instant-limit' -- sim --seed 1 --instant-limit -1
expect 2 '' --
expect 2 '--transport memory does not apply' -- peer --id 1 --transport memory
expect 2 '--peers does not apply' -- peer --id 1 --peers 5
expect 2 "FROM is after TO" -- sim --seed 1 --window 2s..1s --svg "$dir/run.svg"
# Refused before the simulation, not after it: no result line, nothing written.
if grep -q '^seed 1:' "$dir/out" || [[ -e "$dir/run.svg" ]]; then
  echo "FAIL: sim ran the simulation before rejecting --window: $(head -c 600 "$dir/out")" >&2
  failures=$((failures + 1))
fi
expect 2 '--window applies only to an export' -- sim --seed 1 --window 1s..2s
expect 2 'FROM 9 is after TO 3' -- sim --seeds 9..3
expect 2 'not a directory' -- books --state-dir "$dir/no-such-dir"
expect 2 'name an experiment' -- bench
expect 2 '--jobs applies only to many runs' -- sim --seed 1 --jobs 2
expect 2 '--plots does not apply' -- bench e1 --no-plot --plots "$dir"

# 1: a check failed: the books of replicas one of which lost its newest segment.
journal="$dir/state/peer-1/replica"
newest="$(find "$journal" -name 'log-*.tpj' | LC_ALL=C sort | tail -n 1)"
rm -f "$newest"
expect 1 'is missing' -- books --state-dir "$dir/state"

((failures == 0)) || { echo "$failures exit-status checks failed" >&2; exit 1; }
echo "every subcommand follows the exit-status policy"
