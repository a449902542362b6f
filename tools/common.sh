# Shared by tools/run and tools/test: set up the machine, configure once, build.
# Usage: source it, then `tp_build BUILD_DIR [meson setup options...]`.
tp_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

tp_build() {
  local dir="$1"
  shift
  "$tp_root/tools/setup"
  if [[ ! -f "$dir/build.ninja" ]]; then
    meson setup "$dir" "$tp_root" "$@"
  fi
  meson compile -C "$dir"
}
