package store

import "banyan/internal/problem"

// The seams below are what the domain packages still reach of what is left
// here (the center's local store). Each goes when that moves out, as said
// on it.

// ErrAssignmentClosed means an answer came for an assignment whose task no
// longer takes answers. The center's local store (center.go) returns it;
// it moves with that store.
var ErrAssignmentClosed = problem.NewSentinel(problem.Conflict,
	"this assignment timed out and its task no longer takes answers; ask for the next task")
