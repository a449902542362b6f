#!/usr/bin/env bash
# Mutation points exist only where the tests switch them on: no shipped library or program holds
# a symbol of tp::mutant (each point is a constexpr false there), and the mutant flavours hold a
# switch for every point mutant.hpp declares (so none is declared and never reached).
#
#   tests/sim/mutant_symbols_test.sh NM MUTANT_HPP --none FILE... --all FILE...
set -uo pipefail
nm="$1" header="$2"
shift 2
failures=0
none=() all=()
list=none
for arg in "$@"; do
  case "$arg" in
    --none) list=none ;;
    --all) list=all ;;
    *) if [[ "$list" == none ]]; then none+=("$arg"); else all+=("$arg"); fi ;;
  esac
done

# symbols FILE: the demangled tp::mutant names FILE defines or uses; fails if nm cannot read it.
symbols() {
  local out
  out="$("$nm" -C "$1")" || { echo "FAIL: $nm cannot read $1" >&2; return 1; }
  { grep -o 'tp::mutant::[A-Za-z_0-9]*' <<<"$out" || true; } | sort -u
}

for f in "${none[@]}"; do
  found="$(symbols "$f")" || { failures=$((failures + 1)); continue; }
  if [[ -n "$found" ]]; then
    echo "FAIL: $f holds mutant switches: $(tr '\n' ' ' <<<"$found")" >&2
    failures=$((failures + 1))
  else
    echo "ok: no mutant switch in $f"
  fi
done

points="$(sed -n 's/^TP_MUTANT_POINT(\([A-Za-z_0-9]*\));.*/\1/p' "$header" | sort -u)"
if [[ -z "$points" ]]; then
  echo "FAIL: no TP_MUTANT_POINT(name); in $header" >&2
  failures=$((failures + 1))
fi
switched=""
for f in "${all[@]}"; do
  s="$(symbols "$f")" || { failures=$((failures + 1)); continue; }
  switched+="$s"$'\n'
done
for p in $points; do
  if grep -qx "tp::mutant::$p" <<<"$switched"; then
    echo "ok: the mutant flavours switch $p"
  else
    echo "FAIL: no mutant flavour holds the switch of $p (declared in $header)" >&2
    failures=$((failures + 1))
  fi
done
exit $((failures > 0))
