#!/usr/bin/env bash
# `run --transport memory` runs on virtual time: the same --seed gives the same run, so the same
# summary, every time (issue 14: three runs of one seed gave three results).
#
#   tests/system/run_repeat_test.sh <trading-post binary>
set -euo pipefail
bin="$1"
dir="$(mktemp -d "${TMPDIR:-/tmp}/tp-repeat-test-XXXXXX")"
trap 'rm -rf "$dir"' EXIT
for i in 1 2; do
  "$bin" run --transport memory --seed 11 --quiet >"$dir/run-$i.out" 2>&1
  # The summary: from its first line ("Trading Post: ...") to the end.
  sed -n '/^Trading Post: /,$p' "$dir/run-$i.out" >"$dir/summary-$i"
  [[ -s "$dir/summary-$i" ]] || { echo "FAIL: run $i printed no summary" >&2; exit 1; }
done
if ! diff -u "$dir/summary-1" "$dir/summary-2"; then
  echo "FAIL: two runs of --seed 11 on memory printed different summaries" >&2
  exit 1
fi
grep -q 'failures injected\|failure injected' "$dir/summary-1" || { echo "FAIL: no summary" >&2; exit 1; }
echo "ok: the same seed gives the same summary"
