package store

import (
	"time"

	"banyan/internal/problem"
)

// The seams below are what the domain packages still reach of what is left
// here (the center's local store). Each goes when that moves out, as said
// on it.

// ErrAssignmentClosed means an answer came for an assignment whose task no
// longer takes answers. The center's local store (center.go) returns it;
// it moves with that store.
var ErrAssignmentClosed = problem.NewSentinel(problem.Conflict,
	"this assignment timed out and its task no longer takes answers; ask for the next task")

// WorkedMS is the working time, in milliseconds, between from and to,
// scaled by Options.WorkTimeScale, at most limit (a negative span counts
// as none). The hub's dispatch and the center's local store measure with
// it; it moves with the center's local store, the scale with it.
func (s *Store) WorkedMS(from, to time.Time, limit time.Duration) int64 {
	return s.workedMS(from, to, limit)
}
