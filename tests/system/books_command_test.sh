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
  --replication shared --state-dir "$dir/state" --seed 7 --quiet >"$dir/run.out"
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

# Quorum mode: every peer's replica of the trader's log; books reads them all, read-only, and
# replays the one a new trader would adopt; one peer's directory alone works too.
"$bin" run --peers 4 --transport memory --max-transactions 3 --replication quorum \
  --state-dir "$dir/quorum" --seed 7 --quiet >"$dir/run.out"
before="$(state "$dir/quorum")"
"$bin" books --state-dir "$dir/quorum" >"$dir/books.out" || fail "books failed on sound replicas"
grep -qF 'the most advanced of 4 replicas' "$dir/books.out" ||
  fail "books did not read the four replicas: $(cat "$dir/books.out")"
grep -qF 'invariants OK' "$dir/books.out" || fail "books did not check: $(cat "$dir/books.out")"
grep -qF '3 requests answered' "$dir/books.out" ||
  fail "the adopted books lack the run's answers: $(cat "$dir/books.out")"
[[ "$(state "$dir/quorum")" == "$before" ]] || fail "books changed a replica"
"$bin" books --state-dir "$dir/quorum/peer-1" >"$dir/books.out" ||
  fail "books failed on one peer's directory"
grep -qF 'the most advanced of 1 replica,' "$dir/books.out" ||
  fail "books did not read peer 1's replica: $(cat "$dir/books.out")"
# A directory with neither a journal nor replicas: bad input, named.
mkdir -p "$dir/empty"
status=0
"$bin" books --state-dir "$dir/empty" >"$dir/books.out" 2>"$dir/books.err" || status=$?
[[ "$status" -eq 2 ]] || fail "books exited $status on an empty directory (want 2)"
grep -qF "holds neither a shared journal" "$dir/books.err" ||
  fail "the error does not say what is missing: $(cat "$dir/books.err")"
echo "books is read-only, reports the torn tail and refuses the missing segment, and reads replicas"
