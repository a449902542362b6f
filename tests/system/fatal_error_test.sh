#!/usr/bin/env bash
# A peer whose node stops on an error it cannot recover from (here: a journal it cannot open)
# ends its process with a non-zero status and one clear line (issue 12: it kept running and
# exited 0). `run` reports the same as a failed check.
#
#   tests/system/fatal_error_test.sh <trading-post binary>
set -euo pipefail
bin="$1"
dir="$(mktemp -d "${TMPDIR:-/tmp}/tp-fatal-test-XXXXXX")"
trap 'rm -rf "$dir"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Shared mode: the journal's directory is a plain file: whoever becomes trader cannot open it.
mkdir -p "$dir/state"
echo "not a directory" >"$dir/state/journal"
port=$((20000 + RANDOM % 30000))
"$bin" keygen "$dir/cluster.key" >/dev/null
cat >"$dir/cluster.toml" <<TOML
duration = "20s"
[security]
key_file = "$dir/cluster.key"
[election]
heartbeat_interval = "10ms"
election_timeout = "50ms"
answer_timeout = "20ms"
[storage]
state_dir = "$dir/state"
[replication]
mode = "shared"
[[peer]]
id = 1
host = "127.0.0.1"
port = $((port + 1))
role = "buyer"
[[peer]]
id = 2
host = "127.0.0.1"
port = $((port + 2))
role = "seller"
TOML

# Peer 2 alone: nobody is above it, so it leads at once, and fails to open the journal. It must
# stop well before its 20 s duration, with status 1 and one line saying why.
status=0
timeout 15 "$bin" peer --id 2 --config "$dir/cluster.toml" >"$dir/out" 2>"$dir/err" || status=$?
((status == 1)) || fail "peer 2 exited with status $status, expected 1; stderr: $(cat "$dir/err")"
lines=$(grep -c "trading-post: peer 2 stopped: cannot open the books' journal" "$dir/err" || true)
((lines == 1)) || fail "expected one line naming the journal error, got: $(cat "$dir/err")"

# The same in one process: the run's checks fail and say which peer stopped and why.
status=0
"$bin" run --peers 3 --transport memory --max-transactions 3 --state-dir "$dir/state" \
  --replication shared --seed 3 --quiet >"$dir/run.out" 2>&1 || status=$?
((status != 0)) || fail "run with a broken journal exited 0: $(cat "$dir/run.out")"
grep -q "peer 3 stopped: cannot open the books' journal" "$dir/run.out" ||
  fail "run does not report the stopped trader: $(cat "$dir/run.out")"

# Quorum mode: peer 2's replica directory is a plain file: it stops at once, saying so.
sed -e 's/mode = "shared"/mode = "quorum"/' -e "s|state_dir = \"$dir/state\"|state_dir = \"$dir/quorum/peer-{id}\"|" \
  "$dir/cluster.toml" >"$dir/quorum.toml"
mkdir -p "$dir/quorum/peer-2"
echo "not a directory" >"$dir/quorum/peer-2/replica"
status=0
timeout 15 "$bin" peer --id 2 --config "$dir/quorum.toml" >"$dir/out" 2>"$dir/err" || status=$?
((status == 1)) || fail "quorum: peer 2 exited with status $status, expected 1; stderr: $(cat "$dir/err")"
lines=$(grep -c "trading-post: peer 2 stopped: cannot open peer 2's replica" "$dir/err" || true)
((lines == 1)) || fail "quorum: expected one line naming the replica error, got: $(cat "$dir/err")"
echo "ok: peer exits 1 with one line (shared and quorum); run fails its checks naming the stopped peer"
