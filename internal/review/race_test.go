//go:build race

package review_test

// raceEnabled is whether the race detector is on, under which the
// statistical sweeps are skipped.
const raceEnabled = true
