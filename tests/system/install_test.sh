#!/usr/bin/env bash
# `meson install --destdir` of a built tree: libraries, headers under include/tp/<m>/, one .pc per
# module, the program and its plot scripts (which the installed program finds there); then a tiny
# program built with plain c++ against the installed .pc files, and run.
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build="$1"
dest="$(mktemp -d)"
trap 'rm -rf "$dest"' EXIT
fail() {
  echo "install: $*" >&2
  exit 1
}
meson install -C "$build" --destdir "$dest" --no-rebuild >"$dest.log" 2>&1 ||
  { cat "$dest.log" >&2; rm -f "$dest.log"; fail "meson install failed"; }
rm -f "$dest.log"

pc="$(find "$dest" -name tp-clock.pc)"
[[ -n "$pc" ]] || fail "no tp-clock.pc installed"
pcdir="$(dirname "$pc")"
for m in clock wire journal auth market election runtime transport peer sim; do
  [[ -f "$pcdir/tp-$m.pc" ]] || fail "no tp-$m.pc"
  lib="$(find "$dest" -name "libtp-$m.a")"
  [[ -n "$lib" ]] || fail "no libtp-$m.a"
  inc="$(find "$dest" -path "*/include/tp/$m" -type d)"
  if [[ -z "$inc" ]] || [[ -z "$(ls "$inc")" ]]; then fail "no headers under include/tp/$m"; fi
done
# Public headers never need Cap'n Proto's generated code, so none is installed.
if find "$dest" -name '*.capnp.h' | grep -q . || grep -rq 'capnp\.h' "$(dirname "$inc")"; then
  fail "a generated Cap'n Proto header is installed or included by a public header"
fi
grep -q '^Requires:.*tp-clock' "$pcdir/tp-election.pc" || fail "tp-election.pc does not require tp-clock"
grep -q '^Requires:.*capnp' "$pcdir/tp-market.pc" || fail "tp-market.pc does not require capnp"
grep -q '^Requires:.*tp-election' "$pcdir/tp-wire.pc" || fail "tp-wire.pc does not require tp-election"

# The installed program finds the installed plot scripts, not the source tree's.
exe="$(find "$dest" -path '*/bin/trading-post' -type f)"
[[ -x "$exe" ]] || fail "no bin/trading-post installed"
plots="$(find "$dest" -path '*/share/trading-post/plot' -type d)"
[[ -f "$plots/common.gp" ]] || fail "no plot scripts under share/trading-post/plot"
"$exe" bench --help | tr -s ' \n' ' ' | grep -qF "default: $plots)" ||
  fail "the installed program does not default to $plots: $("$exe" bench --help | grep -A1 -- --plots)"

cat >"$dest/tiny.cpp" <<'CPP'
#include <tp/clock/vector_clock.hpp>
#include <tp/election/bully.hpp>
#include <tp/market/books.hpp>
#include <tp/wire/codec.hpp>

int main() {
    // The wire carries the election's own messages (tp-wire requires tp-election's headers).
    const tp::wire::Envelope heartbeat{1, 2, 5, {}, tp::election::Heartbeat{1, 5}};
    const auto back = tp::wire::decode(tp::wire::encode(heartbeat));
    if (!back || !(back.value() == heartbeat)) return 1;
    tp::market::Books books;
    books.deposit(1, 100, 2, 1, 10);
    const auto step = books.submit_buy(2, 7, 2, 1, false, tp::clock::VectorClock{0, 1}, {});
    tp::election::validate(tp::election::Config{.self = 1, .peers = {2}});
    return step.events.empty() || books.buyer(2).spent != 10 ? 1 : 0;
}
CPP
# shellcheck disable=SC2046  # one flag per word
# A sanitizer build installs instrumented libraries: the program links the same runtime.
sanitize="$(meson introspect --buildoptions "$build" | python3 -c '
import json, sys
print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"), "none"))')"
extra=()
[[ "$sanitize" == none ]] || extra=("-fsanitize=$sanitize")
c++ -std=c++20 -Wall -Wextra -Wpedantic -Werror "${extra[@]}" -o "$dest/tiny" "$dest/tiny.cpp" \
  $(PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$dest" pkg-config --cflags --libs tp-wire tp-market) ||
  fail "the tiny program does not build against the installed .pc files"
"$dest/tiny" || fail "the tiny program failed"
echo "install: everything in place under $dest; a program built with pkg-config runs"
