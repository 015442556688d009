#!/usr/bin/env bash
# Builds the Dendrite release Caldicott is tested against (pinned in
# tools/dendrite/go.mod) from the Go module proxy, once, into a cache outside
# the repository. Prints the directory holding the binaries.
#
# `go install github.com/element-hq/dendrite/cmd/dendrite@v0.15.2` is refused
# by the proxy (it lists no versions), so we build from a pinned tools module.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
version=$(grep -o 'element-hq/dendrite v[0-9.]*' "$here/tools/dendrite/go.mod" | head -1 | cut -d' ' -f2)
cache=${CALDICOTT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/caldicott}
out="$cache/dendrite-$version"

mkdir -p "$out"
cd "$here/tools/dendrite"
for cmd in dendrite generate-config generate-keys create-account; do
  if [ ! -x "$out/$cmd" ]; then
    echo "building $cmd $version into $out (first time only, a few minutes)" >&2
    go build -trimpath -o "$out/$cmd.tmp" "github.com/element-hq/dendrite/cmd/$cmd"
    mv "$out/$cmd.tmp" "$out/$cmd"
  fi
done
echo "$out"
