package work

import "fmt"

// TaskState is where a task stands in its life:
//
//	open → in_progress → needs_review? → done | failed
//
// A task is done when its result is final. Every change of state happens in
// one database transaction together with the change that caused it.
type TaskState string

// The task states.
const (
	TaskOpen        TaskState = "open"         // waiting for its first worker
	TaskInProgress  TaskState = "in_progress"  // at least one worker has held it
	TaskNeedsReview TaskState = "needs_review" // answers disagree at max overlap
	TaskDone        TaskState = "done"         // result is final
	TaskFailed      TaskState = "failed"       // given up on; no result
)

var taskMoves = map[TaskState][]TaskState{
	TaskOpen:        {TaskInProgress, TaskFailed},
	TaskInProgress:  {TaskDone, TaskNeedsReview, TaskFailed},
	TaskNeedsReview: {TaskDone, TaskFailed},
}

// CanMove reports whether a task may go from one state to another.
func CanMove(from, to TaskState) bool {
	for _, s := range taskMoves[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Move returns an error naming both states when the move is not allowed.
func Move(from, to TaskState) error {
	if !CanMove(from, to) {
		return fmt.Errorf("task cannot go from %s to %s", from, to)
	}
	return nil
}

// Final reports whether no further work will happen on a task in state s.
func (s TaskState) Final() bool { return s == TaskDone || s == TaskFailed }
