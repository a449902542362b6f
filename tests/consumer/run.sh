#!/usr/bin/env bash
# Builds and runs tests/consumer, a project that takes this checkout as a subproject, twice:
#   1. the clock-only program: Trading Post must configure without Cap'n Proto (or anything but
#      the compiler) and compile exactly one library; the wall time of setup + build is printed;
#   2. all three programs (clock; election; market + journal + transport): only the modules they
#      need are compiled.
# Usage: run.sh [OUT_DIR]   (default: a temporary directory, removed afterwards)
# Never downloads: --wrap-mode=nodownload makes a missing package an error, not a fetch.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-}"
if [[ -z "$out" ]]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi
mkdir -p "$out"
# The consumer's subprojects/trading-post is this checkout (a link: nothing is copied).
ln -sfn ../../.. "$here/subprojects/trading-post"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"

fail() {
  echo "consumer: $*" >&2
  exit 1
}

# Static libraries compiled in a build directory, by file name, sorted.
libraries() {
  find "$1" -name '*.a' -printf '%f\n' | sort | tr '\n' ' '
}

build_and_test() {
  local dir="$1"
  shift
  rm -rf "$dir"
  meson setup "$dir" "$here" --wrap-mode=nodownload "$@" >"$dir.setup.log" 2>&1 ||
    { cat "$dir.setup.log" >&2; fail "setup of $dir failed"; }
  meson compile -C "$dir" >"$dir.build.log" 2>&1 ||
    { cat "$dir.build.log" >&2; fail "build of $dir failed"; }
  meson test -C "$dir" --print-errorlogs || fail "a program of $dir failed"
}

start=$(date +%s%N)
build_and_test "$out/clock" -Dprograms=clock
end=$(date +%s%N)
libs="$(libraries "$out/clock")"
[[ "$libs" == "libtp-clock.a " ]] || fail "clock only: expected libtp-clock.a alone, compiled: $libs"
if grep -qi 'capnp' "$out/clock/meson-logs/meson-log.txt"; then
  fail "clock only: the configuration looked for Cap'n Proto"
fi
ms=$(((end - start) / 1000000))
printf 'consumer: tp-clock alone: setup + build in %d.%03d s, compiled: %s\n' $((ms / 1000)) $((ms % 1000)) "$libs"

build_and_test "$out/all"
libs="$(libraries "$out/all")"
for unwanted in libtp-wire.a libtp-peer.a libtp-sim.a; do
  [[ " $libs" != *" $unwanted "* ]] || fail "all three programs: $unwanted was compiled: $libs"
done
echo "consumer: clock, election and trade programs pass; compiled: $libs"
