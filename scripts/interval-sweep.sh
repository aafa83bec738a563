#!/bin/sh
# Checks how often a batch's 95 % accuracy interval holds the truth, over
# many simulated batches run through the hub's work path:
#
#   scripts/interval-sweep.sh [RUNS_PER_LEVEL]
#
# runs TestIntervalsHold (internal/review) with RUNS_PER_LEVEL batches
# (default 100) at each of its three levels of crowd and reviewer accuracy,
# and prints, per level, the mean true accuracy, the audits a batch got,
# the interval's mean width and how many intervals held. Each batch has a
# seed of its own, so a sweep repeats exactly. It fails if fewer than 90 %
# of all intervals held.
set -eu
runs=${1:-100}
cd "$(dirname "$0")/.."
BANYAN_COVERAGE_RUNS=$runs go test -count=1 -timeout 2h -run '^TestIntervalsHold$' -v ./internal/review/ |
	grep -E 'runs, true accuracy|outside|^(ok|FAIL|---)' | sed 's/^ *coverage_test.go:[0-9]*: //'
