#!/usr/bin/env bash
# `trading-post books` reads the journal without writing it (issue 12): it leaves the state
# directory byte for byte as it was, reports a torn tail without cutting it, and exits 1 with
# one line naming a missing journal segment. And `run --durability none` claims no durability,
# in its summary and its --help.
#
#   tests/system/books_command_test.sh <trading-post binary>
set -euo pipefail
bin="$1"
dir="$(mktemp -d "${TMPDIR:-/tmp}/tp-books-test-XXXXXX")"
trap 'rm -rf "$dir"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Every file of a directory: name, size and SHA-256 of its contents.
state() {
  (cd "$1" && find . -type f -printf '%p %s\n' | LC_ALL=C sort &&
    find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

# A short market whose journal is never synced: the summary must not call its sales durable.
"$bin" run --peers 4 --transport memory --max-transactions 3 --durability none \
  --state-dir "$dir/state" --seed 7 --quiet >"$dir/run.out"
grep -qF 'confirmed sales in the log (not synced)' "$dir/run.out" ||
  fail "the summary under durability none does not say the sales were not synced: $(cat "$dir/run.out")"
if grep -qF 'every confirmed sale durable' "$dir/run.out"; then
  fail "the summary under durability none claims every confirmed sale durable"
fi
"$bin" run --help | tr -s ' \n' ' ' | grep -qF 'never synced, so confirmed sales are not durable' ||
  fail "run --help does not say what durability none does not make durable"

journal="$dir/state/journal"
[[ -f "$journal/MANIFEST" ]] || fail "no MANIFEST in $journal"

# A sound journal: the books balance, and not a byte changes.
before="$(state "$journal")"
"$bin" books --state-dir "$dir/state" >"$dir/books.out" || fail "books failed on a sound journal"
grep -qF 'invariants OK' "$dir/books.out" || fail "books did not check: $(cat "$dir/books.out")"
[[ "$(state "$journal")" == "$before" ]] || fail "books changed the journal directory"

# A torn tail (4 bytes, less than a record header): reported, where and how long, not cut.
newest="$(find "$journal" -name 'log-*.tpj' | LC_ALL=C sort | tail -n 1)"
size="$(stat -c %s "$newest")"
printf 'torn' >>"$newest"
before="$(state "$journal")"
"$bin" books --state-dir "$dir/state" >"$dir/books.out" ||
  fail "books failed on a journal with a torn tail"
grep -qF "torn tail of 4 bytes in $newest from byte offset $size (left in place" "$dir/books.out" ||
  fail "books did not report the torn tail: $(cat "$dir/books.out")"
[[ "$(state "$journal")" == "$before" ]] || fail "books cut the torn tail or changed a file"

# The newest segment deleted: status 1 and one line naming the file; still nothing written.
rm "$newest"
before="$(state "$journal")"
status=0
"$bin" books --state-dir "$dir/state" >"$dir/books.out" 2>"$dir/books.err" || status=$?
[[ "$status" -eq 1 ]] || fail "books exited $status on a missing segment (want 1)"
[[ "$(wc -l <"$dir/books.err")" -eq 1 ]] || fail "want one line on stderr: $(cat "$dir/books.err")"
grep -qF "$(basename "$newest")' is missing" "$dir/books.err" ||
  fail "the error does not name the missing segment: $(cat "$dir/books.err")"
[[ "$(state "$journal")" == "$before" ]] || fail "books changed the journal directory"
echo "books is read-only, reports the torn tail and refuses the missing segment"
