#!/usr/bin/env bash
# Runs every fuzz target for a while and reports, for each, how many inputs
# it ran, how much CPU the run took, and whether it found anything.
#
#   scripts/fuzz-long.sh [DURATION] [TARGET...]
#
# DURATION is per target (default 5m30s: on two cores, with one fuzzing
# worker per core, a little over ten CPU-minutes each). A failing input is
# written under the package's testdata/fuzz/<Target>/ by go test itself:
# commit it with the fix, and it runs as a seed from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-5m30s}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(internal/ingest:FuzzSpool internal/ingest:FuzzReadLabels internal/ingest:FuzzLabelStudio
		internal/ingest:FuzzFileName internal/uplink:FuzzUpload internal/work:FuzzParseAnswer)
fi
status=0
for t in "${targets[@]}"; do
	pkg=./${t%%:*}
	name=${t##*:}
	log=$(mktemp)
	TIMEFORMAT='%U %S'
	cpu=$( { time go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" "$pkg" >"$log" 2>&1; } 2>&1 ) || {
		status=1
		echo "$name: FAILED — see the failing input above and under $pkg/testdata/fuzz/$name/"
		cat "$log"
		rm -f "$log"
		continue
	}
	read -r user sys <<<"$cpu"
	last=$(grep -E '^fuzz: elapsed' "$log" | tail -1)
	awk -v n="$name" -v l="$last" -v u="$user" -v s="$sys" 'BEGIN { printf "%s: %s; CPU %.1f min (user %.0f s, sys %.0f s)\n", n, l, (u + s) / 60, u, s }'
	rm -f "$log"
done
exit $status
