package work

import (
	"encoding/json"
	"time"
)

// Course purposes.
const (
	Training      = "training"      // answers and explanations shown after each item
	Qualification = "qualification" // a test; passing grants the skill
)

// Course is an ordered set of items with known answers for one kind of task
// in one language.
type Course struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Purpose      string  `json:"purpose"`
	Kind         Kind    `json:"kind"`
	Language     string  `json:"language"`
	Schema       *Schema `json:"schema"`
	Instructions string  `json:"instructions"`
	// PassMark is the share of a qualification's items a worker must get
	// right to be granted the skill.
	PassMark float64 `json:"pass_mark"`
	// CooldownSeconds is how long a worker waits after failing a
	// qualification before trying again.
	CooldownSeconds int       `json:"cooldown_seconds"`
	Items           int       `json:"items"`
	CreatedAt       time.Time `json:"created_at"`
}

// CourseItem is one item of a course.
type CourseItem struct {
	ID          string          `json:"id"`
	Seq         int             `json:"seq"`
	Payload     json.RawMessage `json:"payload"`
	Answer      Answer          `json:"-"`
	Explanation string          `json:"-"`
}

// Attempt states.
const (
	AttemptOpen   = "open"
	AttemptDone   = "done"   // a training course finished
	AttemptPassed = "passed" // a qualification passed
	AttemptFailed = "failed" // a qualification failed
)

// Attempt is one worker's go at a course.
type Attempt struct {
	ID         string     `json:"id"`
	CourseID   string     `json:"course_id"`
	WorkerID   string     `json:"worker_id"`
	Answered   int        `json:"answered"`
	Items      int        `json:"items"`
	Score      float64    `json:"score"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	// RetryAfter, on a failed qualification, is when the worker may try
	// again.
	RetryAfter *time.Time `json:"retry_after,omitempty"`
}
