#!/usr/bin/env bash
# Runs every native Go fuzz target in the repository, one after another: go
# fuzzes one target per invocation.
#
#   bash scripts/fuzz.sh                 short run, as `make test` does: a
#                                        fixed number of inputs per target
#   FUZZTIME=2m bash scripts/fuzz.sh     long run (`make fuzz`): each target
#                                        for 2 minutes
#   FUZZLOGS=dir                         keep each target's full output there
#
# The short run counts inputs rather than seconds: go1.26's fuzzer can fail a
# run limited by time with "context deadline exceeded" when the machine is
# busy (golang/go#75804); a count never does. A long run that ends that way
# without writing a failing input is reported as such and not failed.
#
# A failing input is written to the package's testdata/fuzz/<target>/: fix
# the parser, keep the file (it is then a seed run by every `go test`).
set -uo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
FUZZPARALLEL=${FUZZPARALLEL:-1}

# The packages that parse input from outside; each must keep a fuzz target.
parsers=(appservice/intake policy policylist bridges/directory bridges/epr nhsnumber config)

# Short-run inputs per target; targets behind a real database run slower.
short_count() {
	case $1 in
	FuzzTransaction | FuzzSCIMServer) echo 600x ;;
	FuzzApply | FuzzBuild) echo 10000x ;;
	*) echo 20000x ;;
	esac
}

missing=0
for p in "${parsers[@]}"; do
	if ! grep -qs '^func Fuzz' "$p"/*_test.go; then
		echo "fuzz: $p parses outside input but has no fuzz target" >&2
		missing=1
	fi
done
[ $missing = 0 ] || exit 1

# "dir Target" for every fuzz target, found in the test files themselves.
mapfile -t targets < <(grep -rHo --include='*_test.go' --exclude-dir=node_modules --exclude-dir=.git '^func Fuzz[A-Za-z0-9_]*' . |
	sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz.*)$|\1 \2|' | sort)

[ -n "${FUZZLOGS:-}" ] && mkdir -p "$FUZZLOGS"
failed=0
start=$SECONDS
for t in "${targets[@]}"; do
	read -r dir name <<<"$t"
	limit=${FUZZTIME:-$(short_count "$name")}
	log=$(mktemp)
	t0=$SECONDS
	$GO test -tags goolm -run '^$' -fuzz "^$name\$" -fuzztime "$limit" -parallel "$FUZZPARALLEL" "./$dir" >"$log" 2>&1
	rc=$?
	last=$(grep '^fuzz: elapsed.*execs' "$log" | tail -1 | sed 's/^fuzz: //')
	[ -n "${FUZZLOGS:-}" ] && cp "$log" "$FUZZLOGS/$name.log"
	if [ $rc = 0 ]; then
		printf '%-24s %-20s ok   %3ds  %s\n' "$name" "$dir" $((SECONDS - t0)) "$last"
	elif grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
		printf '%-24s %-20s ok   %3ds  %s (stopped by golang/go#75804, no failing input)\n' "$name" "$dir" $((SECONDS - t0)) "$last"
	else
		printf '%-24s %-20s FAIL %3ds\n' "$name" "$dir" $((SECONDS - t0))
		cat "$log"
		failed=1
	fi
	rm -f "$log"
done
echo "fuzz: ${#targets[@]} targets in $((SECONDS - start))s"
exit $failed
