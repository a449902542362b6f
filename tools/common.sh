# shellcheck shell=bash
# Shared by tools/run, tools/test and .ci/run: set up the machine, configure a build directory.
# Usage: source it, then `tp_configure BUILD_DIR [-Dname=value...]`, then build what you need.
tp_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ccache keys on paths relative to the checkout, so a fresh clone in another folder (CI) reuses
# what an earlier build compiled.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$tp_root}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-true}"

# build/ is shared by tools/run and tools/test, so both configure it alike: warnings are errors
# here (and in CI), never in a plain `meson setup` of ours or of a project that uses ours.
# shellcheck disable=SC2034  # used by the tools that source this file
tp_build_options=(-Dwerror=true)

# Configures DIR with the options once, and brings an existing DIR back to them when it differs
# (a build/ set up by hand without werror must not stay lax for tools/test).
# ccache: Meson wraps the compiler in ccache by itself when ccache is on PATH and CXX is unset
# (tools/setup installs it); a CXX set by the user is left as it is.
tp_configure() {
  local dir="$1"
  shift
  "$tp_root/tools/setup"
  if [[ ! -f "$dir/build.ninja" ]]; then
    meson setup "$dir" "$tp_root" "$@"
    return
  fi
  local stale
  stale="$(tp_stale_options "$dir" "$@")"
  if [[ -n "$stale" ]]; then
    echo "tools: reconfiguring $dir with $stale" >&2
    # shellcheck disable=SC2086  # one -Dname=value per word
    meson configure "$dir" $stale
  fi
}

# Prints those of the given -Dname=value options that DIR does not have yet.
tp_stale_options() {
  local dir="$1"
  shift
  meson introspect --buildoptions "$dir" | python3 -c '
import json, sys
current = {o["name"]: o["value"] for o in json.load(sys.stdin)}
for arg in sys.argv[1:]:
    name, _, want = arg.removeprefix("-D").partition("=")
    have = current.get(name)
    if isinstance(have, bool):
        have = "true" if have else "false"
    elif isinstance(have, list):
        have = ",".join(have)
    if str(have) != want:
        print(arg)
' "$@"
}
