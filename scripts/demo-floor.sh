#!/bin/sh
# Runs the demo RUNS times (default 20) and prints, for each project, the
# mean accuracy against the truth, its standard deviation, and the mean
# minus three standard deviations: the floor .ci/run holds each project's
# accuracy to. It prints the answers spent per task (counted answers, too
# fast ones, gold answers and reviews) beside them, and, per run, whether
# each project's 95 % estimate held its true accuracy.
#
#   scripts/demo-floor.sh [RUNS]
#
# Needs jq.
set -eu
runs=${1:-20}
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/banyan
go build -o "$bin" ./cmd/banyan
out=$(mktemp)
i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	"$bin" demo --exit --json >>"$out"
	echo "run $i of $runs done" >&2
done
jq -s -r '
	(map(.projects[]) + map(.fixed_overlap | select(. != null))) | group_by(.name)[] |
	(map(.accuracy)) as $a | ($a | add / length) as $m |
	(($a | map((. - $m) * (. - $m)) | add) / (($a | length) - 1) | sqrt) as $sd |
	"\(.[0].name): \($a | length) runs, accuracy mean \($m * 10000 | round / 10000), sd \($sd * 10000 | round / 10000), mean - 3 sd \(($m - 3 * $sd) * 10000 | floor / 10000), min \($a | min), max \($a | max); answers spent per task \(map(.answers_spent_per_task) | add / length * 100 | round / 100); estimate held \(map(select(.estimated_accuracy != null and .estimated_accuracy.low <= .accuracy and .accuracy <= .estimated_accuracy.high)) | length) of \(map(select(.estimated_accuracy != null)) | length)"
' "$out"
rm -f "$out" "$bin"
