#!/usr/bin/env bash
# The per-run report (issue 14): `run --report DIR` and `sim --report DIR` write every file, and
# each parses (report_check.py); the default failure schedule shows its story in summary.json;
# without gnuplot everything else is written and the page says which plots are missing. With
# --browser, index.html is also rendered in headless Chromium (skipped, status 77, when there is
# no Chromium: `tools/setup --with chromium` installs it, and .ci/run does).
#
#   tests/system/report_test.sh <trading-post binary> [--browser]
set -euo pipefail
bin="$1"
browser=()
if [[ "${2:-}" == "--browser" ]]; then
  chromium="$(command -v chromium || command -v chromium-browser || true)"
  if [[ -z "$chromium" ]]; then
    echo "SKIP: no chromium to render the report (tools/setup --with chromium installs it)"
    exit 77
  fi
  browser=(--browser "$chromium")
fi
check="$(dirname "$0")/report_check.py"
dir="$(mktemp -d "${TMPDIR:-/tmp}/tp-report-test-XXXXXX")"
trap 'rm -rf "$dir"' EXIT

# The default schedule, shortened by fewer requests per buyer, on virtual time.
"$bin" run --transport memory --seed 3 --max-transactions 4 -q --report "$dir/run" >"$dir/run.out"
grep -q "report      $dir/run/index.html" "$dir/run.out" || { cat "$dir/run.out"; exit 1; }
python3 "$check" "$dir/run" --story "${browser[@]}"

# A simulation with faults.
"$bin" sim --seed 4 --duration 1s --liveness-bound 2s --report "$dir/sim" >"$dir/sim.out"
python3 "$check" "$dir/sim" "${browser[@]}"

if ((${#browser[@]} == 0)); then
  # No gnuplot: the rest is written, the missing plots named (the binary needs nothing on PATH).
  mkdir "$dir/empty-path"
  PATH="$dir/empty-path" "$bin" run --transport memory --seed 3 --max-transactions 2 -q \
    --report "$dir/no-gnuplot" >"$dir/no-gnuplot.out"
  grep -q "latency.png not drawn: gnuplot is not installed" "$dir/no-gnuplot.out" ||
    { cat "$dir/no-gnuplot.out"; echo "FAIL: no word of the missing gnuplot" >&2; exit 1; }
  python3 "$check" "$dir/no-gnuplot" --no-plots
fi
echo "ok: every report file is written and parses"
