package work

import (
	"encoding/json"
	"time"
)

// Project is a client's stream of work of one kind under one schema.
type Project struct {
	ID           string  `json:"id"`
	ClientID     string  `json:"client_id"`
	Name         string  `json:"name"`
	Kind         Kind    `json:"kind"`
	Schema       *Schema `json:"schema"`
	Instructions string  `json:"instructions"`
	Overlap      int     `json:"overlap"`
	MaxOverlap   int     `json:"max_overlap"`
	// AssignmentSeconds is how long a worker may hold a task before it goes
	// back to the pool.
	AssignmentSeconds int `json:"assignment_seconds"`
	// Priority, from 0 to MaxPriority, moves the project's batches ahead
	// in the order work is handed out: each step counts as a deadline a
	// set time (the hub's --priority-step) earlier.
	Priority int `json:"priority"`
	Quality
	CreatedAt time.Time `json:"created_at"`
}

// Quality is a project's quality policy.
type Quality struct {
	// Language is the language of the project's content; with the kind it
	// names the skill a worker needs ("classify" in "hi").
	Language string `json:"language"`
	// Method settles tasks: "mv" by strict majority of answers, "ds" by
	// the posterior probability of the leading answer, each answer weighed
	// by its worker's estimated accuracy.
	Method string `json:"method"`
	// ConfidenceTarget, for method ds, is the posterior a task's answer
	// must reach to settle; below it the task gets another answer, up to
	// MaxOverlap, and then goes to review.
	ConfidenceTarget float64 `json:"confidence_target"`
	// GoldRatio is the share of tasks handed out that are gold tasks.
	GoldRatio float64 `json:"gold_ratio"`
	// MinAccuracy suspends a worker from the project's skill when their
	// estimated accuracy falls below it after MinGold scored answers; 0
	// turns suspension off.
	MinAccuracy float64 `json:"min_accuracy"`
	MinGold     int     `json:"min_gold"`
	// MinAnswerMS is the fast-answer floor: answers given faster are kept
	// but flagged and do not count.
	MinAnswerMS int64 `json:"min_answer_ms"`
	// ReviewRate is the share of settled tasks sampled for review; the
	// reviewers' verdicts on them measure the accuracy of results. On a
	// project with a rubric it is the share of replies sampled for review
	// once their writer is past their first ReviewFirst.
	ReviewRate float64 `json:"review_rate"`
	// MaxTextError, for transcribe and respond, is the highest character
	// error rate at which a text agrees with another (TextScore): in
	// settling, gold, review, audits and the quality report.
	MaxTextError float64 `json:"max_text_error"`
	// Rubric, on a respond project, is how its replies are judged: each
	// reply sampled for review is scored on it, and delivered if it passes.
	// Nil (every project made before rubrics) settles replies by
	// agreement, as transcriptions are.
	Rubric *Rubric `json:"rubric,omitempty"`
	// ReviewFirst, on a project with a rubric, is how many of each
	// writer's first replies in the project all go to review.
	ReviewFirst int `json:"review_first"`
}

// Settling methods.
const (
	MethodMV = "mv"
	MethodDS = "ds"
)

// Project limits and defaults.
const (
	DefaultOverlap           = 3
	DefaultAssignmentSeconds = 600
	MaxOverlapLimit          = 15
	// DefaultReviewFirst and DefaultRubricReviewRate are the review share
	// of a new project with a rubric: every one of a writer's first 20
	// replies, then one in five.
	DefaultReviewFirst      = 20
	DefaultRubricReviewRate = 0.2
	MaxReviewFirst          = 1000
	MaxPriority             = 3
)

// Batch is one upload of tasks into a project.
type Batch struct {
	ID          string     `json:"id"`
	Purpose     string     `json:"purpose"`
	ProjectID   string     `json:"project_id"`
	ClientID    string     `json:"client_id"`
	Name        string     `json:"name"`
	Tasks       int        `json:"tasks"`
	TasksDone   int        `json:"tasks_done"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	// Deadline is the client's SLA deadline for the batch, if it has one.
	Deadline *time.Time `json:"deadline,omitempty"`
	// CancelledAt is when the client cancelled the batch: its unfinished
	// tasks failed and its leases were recalled.
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
}

// Batch purposes.
const (
	PurposeWork = "work" // the client's tasks
	PurposeGold = "gold" // tasks with known answers, mixed in to measure workers
)

// Task is one item of work. Payload holds the input fields as uploaded.
type Task struct {
	ID         string          `json:"id"`
	ProjectID  string          `json:"project_id"`
	BatchID    string          `json:"batch_id"`
	ExternalID string          `json:"external_id,omitempty"`
	Payload    json.RawMessage `json:"payload"`
	State      TaskState       `json:"state"`
	Answers    int             `json:"answers"`
	Wanted     int             `json:"wanted"`
	// ReviewReason says why a task waits for review.
	ReviewReason string    `json:"review_reason,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Assignment is one worker holding one task for a few minutes, and then the
// answer they gave.
type Assignment struct {
	ID          string     `json:"id"`
	TaskID      string     `json:"task_id"`
	ProjectID   string     `json:"project_id"`
	WorkerID    string     `json:"worker_id"`
	State       string     `json:"state"`
	Answer      *Answer    `json:"answer,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	SubmittedAt *time.Time `json:"submitted_at,omitempty"`
	DurationMS  int64      `json:"duration_ms,omitempty"`
	// Flag says why a submitted answer does not count ("too_fast",
	// "late").
	Flag string `json:"flag,omitempty"`
}

// Answer flags: an answer with a flag is kept but neither counts toward
// its task's result nor is paid.
const (
	// FlagTooFast marks an answer given faster than the project's floor.
	FlagTooFast = "too_fast"
	// FlagLate marks an answer whose worker no longer held a place on the
	// task (their assignment or their center's lease ran out) and that
	// came when the task had no room for it beside its current holders.
	FlagLate = "late"
	// FlagRejected marks a reply that failed review by its project's
	// rubric: its task went to another writer, and the reply is rejected
	// under the rate card's approval rules (see docs/money.md).
	FlagRejected = "rejected"
)

// Assignment states.
const (
	AssignmentActive    = "active"
	AssignmentSubmitted = "submitted"
	AssignmentExpired   = "expired"
)

// Result is a task's final answer as delivered to the client.
type Result struct {
	TaskID     string    `json:"task_id"`
	ExternalID string    `json:"external_id,omitempty"`
	ProjectID  string    `json:"project_id"`
	BatchID    string    `json:"batch_id"`
	Answer     Answer    `json:"answer"`
	Confidence float64   `json:"confidence"`
	Answers    int       `json:"answers"`
	Source     string    `json:"source"`
	CreatedAt  time.Time `json:"created_at"`
	// Payload is the task's input, read only for exports that carry it
	// (Label Studio's).
	Payload []byte `json:"-"`
}

// Result sources.
const (
	SourceAgreement = "agreement" // workers agreed
	SourceReview    = "review"    // a reviewer decided
)
